#!/usr/bin/env python3
"""A fake StatusNotifierWatcher and a dbusmenu client, so tray menus can be tested on a headless D-Bus session.

  tray.py watch STATE        own org.kde.StatusNotifierWatcher; write the last registered item to STATE (JSON)
  tray.py layout STATE       print the item's menu and icon as JSON
  tray.py click STATE LABEL  click the menu item with that label

Linux trays emit no click events (specs/tauri-platform.md §5.3); the menu over D-Bus is all there is, so this is
exactly what a panel does. Needs python3-dbus and python3-gi.
"""
import json
import sys
import zlib
import struct

import dbus
import dbus.service

import dbus_service

WATCHER = "org.kde.StatusNotifierWatcher"
ITEM_IFACE = "org.kde.StatusNotifierItem"
MENU_IFACE = "com.canonical.dbusmenu"


class Watcher(dbus.service.Object):
    def __init__(self, bus, state_path):
        super().__init__(bus, "/StatusNotifierWatcher")
        self.state_path = state_path
        self.items = []

    @dbus.service.method(WATCHER, in_signature="s", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        # libappindicator passes its object path; others pass a bus name (then the path is the default one).
        name, path = (sender, service) if service.startswith("/") else (service, "/StatusNotifierItem")
        self.items.append(f"{name}{path}")
        with open(self.state_path, "w") as f:
            json.dump({"bus_name": str(name), "path": str(path)}, f)
        self.StatusNotifierItemRegistered(f"{name}{path}")

    @dbus.service.method(WATCHER, in_signature="s")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemRegistered(self, service):
        pass

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        return self.GetAll(interface)[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return {
            "RegisteredStatusNotifierItems": dbus.Array(self.items, signature="s"),
            "IsStatusNotifierHostRegistered": dbus.Boolean(True),
            "ProtocolVersion": dbus.Int32(0),
        }


def watch(state_path):
    dbus_service.serve(WATCHER, lambda bus: Watcher(bus, state_path), "watching")


def item(state_path):
    with open(state_path) as f:
        state = json.load(f)
    bus = dbus.SessionBus()
    obj = bus.get_object(state["bus_name"], state["path"])
    props = dbus.Interface(obj, dbus.PROPERTIES_IFACE).GetAll(ITEM_IFACE)
    menu = dbus.Interface(bus.get_object(state["bus_name"], props["Menu"]), MENU_IFACE)
    return props, menu


def entries(node):
    _id, props, children = node
    out = []
    for child in children:
        cid, cprops, _ = child
        if "label" in cprops:
            out.append({
                "id": int(cid),
                "label": str(cprops["label"]).replace("_", ""),
                "enabled": bool(cprops.get("enabled", True)),
                "checked": int(cprops.get("toggle-state", 0)) == 1,
            })
        out.extend(entries(child))
    return out


def png_pixel(path, fx, fy):
    """RGBA of the pixel at fractional (fx, fy) of an 8-bit RGBA, non-interlaced PNG (what tray-icon writes)."""
    data = open(path, "rb").read()
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 6), f"expected 8-bit RGBA, got depth {depth} colour type {color}"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, prev, rows = zlib.decompress(idat), width * 4, bytearray(width * 4), []
    for y in range(height):
        ftype, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 4] if i >= 4 else 0
            b = prev[i]
            c = prev[i - 4] if i >= 4 else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(line)
        prev = line
    x, y = int(fx * width), int(fy * height)
    return list(rows[y][x * 4:x * 4 + 4])


def layout(state_path):
    props, menu = item(state_path)
    _rev, root = menu.GetLayout(0, -1, [])
    icon = str(props.get("IconName", ""))
    return {
        "id": str(props.get("Id", "")),
        "status": str(props.get("Status", "")),
        "iconName": icon,
        # A point on the coloured disc, away from the white rings: the presence colour.
        "iconDiscRgba": png_pixel(icon, 0.5, 0.15) if icon.endswith(".png") else None,
        "items": entries(root),
    }


def click(state_path, label):
    _props, menu = item(state_path)
    _rev, root = menu.GetLayout(0, -1, [])
    matches = [e for e in entries(root) if e["label"] == label]
    if not matches:
        sys.exit(f"no tray menu item labelled {label!r}")
    menu.Event(matches[0]["id"], "clicked", dbus.Int32(0, variant_level=1), dbus.UInt32(0))


if __name__ == "__main__":
    dbus_service.main({
        "watch": watch,
        "layout": lambda state: print(json.dumps(layout(state))),
        "click": click,
    })
