"""What the headless desktop tests' fake D-Bus services share: owning a well-known name on the session bus with
one exported object and serving it from a GLib main loop, and the small command-line dispatch each script offers.

Used by tray.py (a StatusNotifierWatcher) and notifications.py (a notification server). Needs python3-dbus and
python3-gi (Debian's python3).
"""
import sys

import dbus
import dbus.service


def serve(name, make_object, what):
    """Own `name` on the session bus, export `make_object(bus)` and serve until killed.

    Prints '<what> as <name>' once the name is owned, so a launcher can wait for that line.
    """
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib

    DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    owned = dbus.service.BusName(name, bus, do_not_queue=True)
    # The bus keeps a reference to the exported object; holding it here too makes that plain.
    _exported = make_object(bus)
    print(f"{what} as {owned.get_name()}", flush=True)
    GLib.MainLoop().run()


def main(commands, argv=None):
    """Run `commands[argv[1]](*argv[2:])`; a missing or unknown command exits with a usage message."""
    argv = sys.argv if argv is None else argv
    if len(argv) < 2 or argv[1] not in commands:
        got = argv[1] if len(argv) > 1 else ""
        sys.exit(f"unknown command {got!r}; expected one of {', '.join(commands)}")
    commands[argv[1]](*argv[2:])
