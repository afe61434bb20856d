//! Ring notifications through the OS (notify-rust; D-Bus on Linux): one per ringing call, with Answer and
//! Decline buttons that work, showing the caller, the CRM name and the customer's owner and department
//! (「担当: 田中 / 部署: 営業一課」); closed the moment the ring stops.
//!
//! All show/update/close calls run in order on one thread, so a ring that stops while its notification is
//! still being shown is closed, never left behind. Each notification's buttons are awaited on a thread of its own.

use std::collections::HashMap;
use std::sync::mpsc;

use notify_rust::{Hint, Notification, NotificationHandle, Timeout, Urgency};
use tauri::{AppHandle, Manager, Runtime};
use tsunagi_core::{Caller, Command, Crm, Event, Target};

use crate::agent::AgentHost;
use crate::lang::{Lang, LangState};
use crate::window;

enum Op {
    Show { target: Target, text: RingText },
    Update { target: Target, text: RingText },
    Close { target: Target },
}

struct RingText {
    summary: String,
    body: String,
    answer: &'static str,
    decline: &'static str,
}

/// The managed sender to the notification thread.
pub struct Notifier(mpsc::Sender<Op>);

impl Notifier {
    /// Starts the notification thread.
    pub fn start<R: Runtime>(app: AppHandle<R>) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("notifications".into())
            .spawn(move || run(app, rx))
            .expect("the OS refused to start a thread");
        Notifier(tx)
    }

    fn send(&self, op: Op) {
        if self.0.send(op).is_err() {
            tracing::error!(
                "the notification thread is gone; rings show in the window and tray only"
            );
        }
    }
}

/// 「担当: 田中 太郎 / 部署: 営業一課」 or "Owner: … / Department: …", with whichever of the two is known.
pub(crate) fn owner_line(lang: Lang, crm: &Crm) -> Option<String> {
    let (owner, department) = match lang {
        Lang::Ja => ("担当", "部署"),
        Lang::En => ("Owner", "Department"),
    };
    let parts: Vec<String> = [
        crm.owner_name.as_deref().map(|n| format!("{owner}: {n}")),
        crm.department_name
            .as_deref()
            .map(|n| format!("{department}: {n}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" / "))
}

fn text(lang: Lang, caller: Option<&Caller>, crm: Option<&Crm>) -> RingText {
    let number = caller.map(Caller::expose).unwrap_or(lang.unknown_caller());
    let mut body = match crm.and_then(|c| c.customer_name.as_deref()) {
        Some(name) => format!("{name}\n{number}"),
        None => number.to_owned(),
    };
    if let Some(line) = crm.and_then(|c| owner_line(lang, c)) {
        body.push('\n');
        body.push_str(&line);
    }
    RingText {
        summary: lang.incoming_call().to_owned(),
        body,
        answer: lang.answer(),
        decline: lang.decline(),
    }
}

/// Shows, updates or closes the ring notification for a core event.
pub fn on_event<R: Runtime>(app: &AppHandle<R>, event: &Event) {
    let notifier = app.state::<Notifier>();
    let lang = app.state::<LangState>().get();
    match event {
        Event::Ringing {
            target,
            caller,
            crm,
            ..
        } => notifier.send(Op::Show {
            target: *target,
            text: text(lang, caller.as_ref(), crm.as_ref()),
        }),
        Event::RingUpdated {
            target,
            caller,
            crm,
            ..
        } => notifier.send(Op::Update {
            target: *target,
            text: text(lang, caller.as_ref(), crm.as_ref()),
        }),
        Event::RingStopped { target, .. } => notifier.send(Op::Close { target: *target }),
        _ => {}
    }
}

fn build(text: &RingText) -> Notification {
    let mut n = Notification::new();
    n.appname("Tsunagi")
        .summary(&text.summary)
        .body(&text.body)
        .icon("call-start")
        .action("answer", text.answer)
        .action("decline", text.decline)
        .hint(Hint::Category("call.incoming".into()))
        .hint(Hint::Resident(true))
        .urgency(Urgency::Critical)
        .timeout(Timeout::Never);
    n
}

fn run<R: Runtime>(app: AppHandle<R>, ops: mpsc::Receiver<Op>) {
    let mut shown: HashMap<Target, NotificationHandle> = HashMap::new();
    for op in ops {
        match op {
            Op::Show { target, text } => match build(&text).show() {
                Ok(handle) => {
                    await_buttons(app.clone(), handle.id(), target);
                    if let Some(old) = shown.insert(target, handle) {
                        old.close();
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "no ring notification (is a notification service running?)")
                }
            },
            Op::Update { target, text } => {
                if let Some(handle) = shown.get_mut(&target) {
                    handle.body(&text.body);
                    if let Err(error) = handle.update() {
                        tracing::warn!(%error, "could not update the ring notification");
                    }
                }
            }
            Op::Close { target } => {
                if let Some(handle) = shown.remove(&target) {
                    handle.close();
                }
            }
        }
    }
}

fn await_buttons<R: Runtime>(app: AppHandle<R>, id: u32, target: Target) {
    let spawned = std::thread::Builder::new().name(format!("notification-{id}")).spawn(move || {
        let mut clicked = None;
        // Returns when the button is pressed or the notification closes (including our own close on ring stop).
        let _ = notify_rust::handle_action(id, |response| {
            if let notify_rust::ActionResponse::Custom(key) = response {
                clicked = Some((*key).to_owned());
            }
        });
        let command = match clicked.as_deref() {
            Some("answer") => Command::Answer { target },
            Some("decline") => Command::Reject { target },
            Some(_) => {
                // A click on the body: bring the window up so the agent can decide there.
                window::show_main(&app);
                return;
            }
            None => return,
        };
        tracing::info!(?command, "ring notification button pressed");
        tauri::async_runtime::block_on(async {
            if let Err(error) = app.state::<AgentHost>().command(command).await {
                tracing::warn!(%error, "the notification's button could not reach the agent session");
            }
        });
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "could not watch the notification's buttons");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_the_customer_then_the_owner_and_department_in_the_agents_language() {
        let crm = Crm {
            customer_name: Some("山田 花子".into()),
            owner_name: Some("田中 太郎".into()),
            department_name: Some("営業一課".into()),
            ..Crm::default()
        };
        let caller = Caller::new("+81312345678");
        let ja = text(Lang::Ja, Some(&caller), Some(&crm));
        assert_eq!(
            ja.body,
            "山田 花子\n+81312345678\n担当: 田中 太郎 / 部署: 営業一課"
        );
        let only_department = Crm {
            department_name: Some("営業一課".into()),
            ..Crm::default()
        };
        let en = text(Lang::En, Some(&caller), Some(&only_department));
        assert_eq!(en.body, "+81312345678\nDepartment: 営業一課");
        assert_eq!(text(Lang::En, None, None).body, Lang::En.unknown_caller());
    }
}
