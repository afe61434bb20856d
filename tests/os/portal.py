#!/usr/bin/env python3
"""A fake XDG desktop portal for the answer/hang-up key on Wayland (org.freedesktop.portal.GlobalShortcuts, version 1),
on the test's private session bus.

  portal.py serve LOG                    own org.freedesktop.portal.Desktop with GlobalShortcuts; log calls to LOG (JSONL)
  portal.py serve-without-shortcuts LOG  own it without GlobalShortcuts (as GNOME's portal before 48)
  portal.py activate ID                  emit Activated (then Deactivated) for every session that bound ID
  portal.py retrigger ID TRIGGER         the user gives ID another trigger: emit ShortcutsChanged to those sessions

It speaks the portal's request convention: each call's Request object lives at
/org/freedesktop/portal/desktop/request/SENDER/TOKEN (handle_token) and answers with Response(0, results) after the
method returns; the session handle is returned as a string, as the specification keeps it; only the session's creator
may bind in it, and Activated/Deactivated go to that connection only (unicast), as xdg-desktop-portal sends them.
Needs python3-dbus and python3-gi (Debian's python3).
"""
import json
import os
import sys
import time

import dbus
import dbus.lowlevel
import dbus.service

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "desktop"))
import dbus_service  # noqa: E402

NAME = "org.freedesktop.portal.Desktop"
PATH = "/org/freedesktop/portal/desktop"
SHORTCUTS = "org.freedesktop.portal.GlobalShortcuts"
REQUEST = "org.freedesktop.portal.Request"
PROPERTIES = "org.freedesktop.DBus.Properties"
TEST_IFACE = "org.tsunagi.test.FakePortal"


def sender_element(sender):
    return sender.lstrip(":").replace(".", "_")


class Request(dbus.service.Object):
    """One call's Request object; it answers once, then leaves the bus."""

    @dbus.service.signal(REQUEST, signature="ua{sv}")
    def Response(self, code, results):
        pass


class PortalWithout(dbus.service.Object):
    """The portal object with no GlobalShortcuts: its properties say there is no such interface."""

    def __init__(self, bus, log_path):
        super().__init__(bus, PATH)
        self.bus = bus
        self.log_path = log_path

    def log(self, record):
        with open(self.log_path, "a") as f:
            f.write(json.dumps(record) + "\n")

    def interfaces(self):
        return {}

    @dbus.service.method(PROPERTIES, in_signature="ss", out_signature="v")
    def Get(self, interface, prop):
        self.log({"call": "Get", "interface": str(interface), "property": str(prop)})
        props = self.interfaces().get(str(interface))
        if props is None:
            # What GDBus (xdg-desktop-portal) answers for an interface the object does not have.
            raise dbus.exceptions.DBusException(
                f"No such interface “{interface}”", name="org.freedesktop.DBus.Error.InvalidArgs"
            )
        if str(prop) not in props:
            raise dbus.exceptions.DBusException(
                f"No such property “{prop}”", name="org.freedesktop.DBus.Error.InvalidArgs"
            )
        return props[str(prop)]

    @dbus.service.method(PROPERTIES, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return self.interfaces().get(str(interface), {})


class Portal(PortalWithout):
    """The portal object with GlobalShortcuts."""

    def __init__(self, bus, log_path):
        super().__init__(bus, log_path)
        self.sessions = {}  # session path -> (owner's unique name, bound shortcut ids)

    def interfaces(self):
        return {SHORTCUTS: {"version": dbus.UInt32(1)}}

    def respond(self, sender, options, results):
        token = str(options.get("handle_token", f"t{int(time.monotonic_ns())}"))
        path = f"{PATH}/request/{sender_element(sender)}/{token}"
        request = Request(self.bus, path)

        def answer():
            request.Response(dbus.UInt32(0), dbus.Dictionary(results, signature="sv"))
            request.remove_from_connection()
            return False

        from gi.repository import GLib

        # After the method's reply, as the real portal does.
        GLib.idle_add(answer)
        return dbus.ObjectPath(path)

    @dbus.service.method(SHORTCUTS, in_signature="a{sv}", out_signature="o", sender_keyword="sender")
    def CreateSession(self, options, sender=None):
        token = str(options.get("session_handle_token", "s"))
        session = f"{PATH}/session/{sender_element(sender)}/{token}"
        self.sessions[session] = (str(sender), [])
        self.log({"call": "CreateSession", "session": session, "options": sorted(str(k) for k in options)})
        # `session_handle` is specified as a string (an early mistake the portal keeps for compatibility).
        return self.respond(sender, options, {"session_handle": dbus.String(session)})

    @dbus.service.method(SHORTCUTS, in_signature="oa(sa{sv})sa{sv}", out_signature="o", sender_keyword="sender")
    def BindShortcuts(self, session, shortcuts, parent_window, options, sender=None):
        listed = [
            {"id": str(sid), **{str(k): str(v) for k, v in fields.items()}} for sid, fields in shortcuts
        ]
        self.log({"call": "BindShortcuts", "session": str(session), "shortcuts": listed})
        owner = self.sessions.get(str(session), (None, []))[0]
        if owner != str(sender):
            # As xdg-desktop-portal: only the session's creator may use it.
            raise dbus.exceptions.DBusException("Invalid session", name="org.freedesktop.DBus.Error.AccessDenied")
        self.sessions[str(session)] = (owner, [s["id"] for s in listed])
        bound = dbus.Array(
            [
                dbus.Struct(
                    (s["id"], dbus.Dictionary({"description": s.get("description", ""), "trigger_description": "Ctrl+Alt+A"}, signature="sv")),
                    signature="sa{sv}",
                )
                for s in listed
            ],
            signature="(sa{sv})",
        )
        return self.respond(sender, options, {"shortcuts": bound})

    def emit_to(self, owner, member, session, shortcut_id, timestamp):
        # xdg-desktop-portal sends these to the session's owner only (a unicast signal), not to the whole bus.
        message = dbus.lowlevel.SignalMessage(PATH, SHORTCUTS, member)
        message.set_destination(owner)
        message.append(dbus.ObjectPath(session), shortcut_id, timestamp, dbus.Dictionary({}, signature="sv"), signature="osta{sv}")
        self.bus.send_message(message)

    @dbus.service.method(TEST_IFACE, in_signature="s", out_signature="u")
    def Activate(self, shortcut_id):
        sessions = [(s, owner) for s, (owner, ids) in self.sessions.items() if str(shortcut_id) in ids]
        now = dbus.UInt64(time.monotonic_ns() // 1_000_000)
        for session, owner in sessions:
            self.log({"call": "Activate", "session": session, "id": str(shortcut_id)})
            self.emit_to(owner, "Activated", session, shortcut_id, now)
            self.emit_to(owner, "Deactivated", session, shortcut_id, now)
        return dbus.UInt32(len(sessions))


    @dbus.service.method(TEST_IFACE, in_signature="ss", out_signature="u")
    def Retrigger(self, shortcut_id, trigger):
        sessions = [(s, owner, ids) for s, (owner, ids) in self.sessions.items() if str(shortcut_id) in ids]
        for session, owner, ids in sessions:
            self.log({"call": "Retrigger", "session": session, "id": str(shortcut_id), "trigger": str(trigger)})
            listed = dbus.Array(
                [dbus.Struct((i, dbus.Dictionary({"trigger_description": trigger if i == shortcut_id else ""}, signature="sv")), signature="sa{sv}") for i in ids],
                signature="(sa{sv})",
            )
            message = dbus.lowlevel.SignalMessage(PATH, SHORTCUTS, "ShortcutsChanged")
            message.set_destination(owner)
            message.append(dbus.ObjectPath(session), listed, signature="oa(sa{sv})")
            self.bus.send_message(message)
        return dbus.UInt32(len(sessions))


def serve(log_path):
    dbus_service.serve(NAME, lambda bus: Portal(bus, log_path), "portal serving")


def serve_without_shortcuts(log_path):
    dbus_service.serve(NAME, lambda bus: PortalWithout(bus, log_path), "portal serving")


def activate(shortcut_id):
    obj = dbus.SessionBus().get_object(NAME, PATH)
    sessions = dbus.Interface(obj, TEST_IFACE).Activate(shortcut_id)
    if sessions == 0:
        sys.exit(f"no session bound {shortcut_id!r}")


def retrigger(shortcut_id, trigger):
    obj = dbus.SessionBus().get_object(NAME, PATH)
    if dbus.Interface(obj, TEST_IFACE).Retrigger(shortcut_id, trigger) == 0:
        sys.exit(f"no session bound {shortcut_id!r}")


if __name__ == "__main__":
    dbus_service.main(
        {"serve": serve, "serve-without-shortcuts": serve_without_shortcuts, "activate": activate, "retrigger": retrigger}
    )
