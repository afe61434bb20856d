#!/usr/bin/env python3
"""A fake freedesktop notification server for headless desktop tests, and a client to drive it.

  notifications.py serve LOG          own org.freedesktop.Notifications; append every Notify/Close to LOG (JSON lines)
  notifications.py invoke ID ACTION   make notification ID report ACTION, as a click on its button would

The server answers like a real one (capabilities include actions, so apps attach Answer/Decline buttons) and emits
ActionInvoked / NotificationClosed exactly as the spec says, so the app's real D-Bus code path runs. Needs
python3-dbus and python3-gi (Debian's python3).
"""
import json

import dbus
import dbus.service

import dbus_service

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
TEST_IFACE = "jp.tsunagi.test.Notifications"


class Server(dbus.service.Object):
    def __init__(self, bus, log_path):
        super().__init__(bus, PATH)
        self.log_path = log_path
        self.next_id = 1

    def log(self, record):
        with open(self.log_path, "a") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

    @dbus.service.method(NAME, out_signature="as")
    def GetCapabilities(self):
        return ["actions", "body", "body-markup", "persistence"]

    @dbus.service.method(NAME, out_signature="ssss")
    def GetServerInformation(self):
        return ("tsunagi-test", "tsunagi", "1.0", "1.2")

    @dbus.service.method(NAME, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app_name, replaces_id, icon, summary, body, actions, hints, timeout):
        nid = int(replaces_id) or self.next_id
        if not replaces_id:
            self.next_id += 1
        self.log({
            "event": "notify", "id": nid, "replaces": int(replaces_id), "app": str(app_name),
            "summary": str(summary), "body": str(body),
            # actions come as [key, label, key, label, ...]
            "actions": {str(actions[i]): str(actions[i + 1]) for i in range(0, len(actions) - 1, 2)},
            "urgency": int(hints["urgency"]) if "urgency" in hints else None,
            "category": str(hints["category"]) if "category" in hints else None,
            "timeout": int(timeout),
        })
        return dbus.UInt32(nid)

    @dbus.service.method(NAME, in_signature="u")
    def CloseNotification(self, nid):
        self.log({"event": "close", "id": int(nid)})
        self.NotificationClosed(nid, dbus.UInt32(3))  # 3 = closed by CloseNotification

    @dbus.service.signal(NAME, signature="uu")
    def NotificationClosed(self, nid, reason):
        pass

    @dbus.service.signal(NAME, signature="us")
    def ActionInvoked(self, nid, action_key):
        pass

    @dbus.service.method(TEST_IFACE, in_signature="us")
    def Invoke(self, nid, action_key):
        self.log({"event": "invoke", "id": int(nid), "action": str(action_key)})
        self.ActionInvoked(dbus.UInt32(nid), action_key)
        self.NotificationClosed(dbus.UInt32(nid), dbus.UInt32(2))  # 2 = dismissed by the user


def serve(log_path):
    dbus_service.serve(NAME, lambda bus: Server(bus, log_path), "serving")


def invoke(nid, action):
    obj = dbus.SessionBus().get_object(NAME, PATH)
    dbus.Interface(obj, TEST_IFACE).Invoke(dbus.UInt32(int(nid)), action)


if __name__ == "__main__":
    dbus_service.main({"serve": serve, "invoke": invoke})
