//! The language of the shell's own text (the tray menu): the OS locale at start, then whatever the UI picks, so
//! the window and the tray always speak the same language.

use std::sync::Mutex;

use serde::Deserialize;

use tsunagi_core::Activity;

/// A language the app speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// 日本語
    Ja,
    /// English, also the fallback.
    #[default]
    En,
}

impl Lang {
    /// The language of a BCP 47 / POSIX locale such as `ja-JP` or `ja_JP.UTF-8`; English for anything else.
    pub fn from_locale(locale: &str) -> Lang {
        match locale.get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("ja") => Lang::Ja,
            _ => Lang::En,
        }
    }

    /// The OS's language.
    pub fn detect() -> Lang {
        sys_locale::get_locale()
            .map(|l| Lang::from_locale(&l))
            .unwrap_or_default()
    }

    /// The tray label of an activity.
    pub fn activity(self, activity: Activity) -> &'static str {
        match (self, activity) {
            (Lang::En, Activity::Available) => "Available",
            (Lang::En, Activity::Away) => "Away",
            (Lang::En, Activity::Break) => "Break",
            (Lang::En, Activity::Offline) => "Offline",
            (Lang::Ja, Activity::Available) => "受付可",
            (Lang::Ja, Activity::Away) => "離席",
            (Lang::Ja, Activity::Break) => "休憩",
            (Lang::Ja, Activity::Offline) => "オフライン",
        }
    }

    /// The ring notification's title.
    pub fn incoming_call(self) -> &'static str {
        match self {
            Lang::En => "Incoming call",
            Lang::Ja => "着信",
        }
    }

    /// Shown when the caller's number is not known yet.
    pub fn unknown_caller(self) -> &'static str {
        match self {
            Lang::En => "Unknown caller",
            Lang::Ja => "番号不明",
        }
    }

    /// The notification's answer button.
    pub fn answer(self) -> &'static str {
        match self {
            Lang::En => "Answer",
            Lang::Ja => "応答",
        }
    }

    /// The notification's decline button.
    pub fn decline(self) -> &'static str {
        match self {
            Lang::En => "Decline",
            Lang::Ja => "拒否",
        }
    }

    /// The tray's "open the window" label.
    pub fn open(self) -> &'static str {
        match self {
            Lang::En => "Open Tsunagi",
            Lang::Ja => "Tsunagi を開く",
        }
    }

    /// The tray's "quit" label.
    pub fn quit(self) -> &'static str {
        match self {
            Lang::En => "Quit",
            Lang::Ja => "終了",
        }
    }
}

/// The managed current language.
pub struct LangState(Mutex<Lang>);

impl LangState {
    /// Starts in the OS's language.
    pub fn detect() -> Self {
        LangState(Mutex::new(Lang::detect()))
    }

    /// The current language.
    pub fn get(&self) -> Lang {
        // A poisoned lock still holds a whole Copy value.
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Switches language.
    pub fn set(&self, lang: Lang) {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = lang;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_map_to_languages() {
        assert_eq!(Lang::from_locale("ja-JP"), Lang::Ja);
        assert_eq!(Lang::from_locale("ja_JP.UTF-8"), Lang::Ja);
        assert_eq!(Lang::from_locale("JA"), Lang::Ja);
        assert_eq!(Lang::from_locale("en-US"), Lang::En);
        assert_eq!(Lang::from_locale("fr"), Lang::En);
        assert_eq!(Lang::from_locale(""), Lang::En);
        assert_eq!(Lang::from_locale("日本"), Lang::En);
    }

    #[test]
    fn every_label_is_translated() {
        for a in crate::tray::ACTIVITIES {
            assert_ne!(Lang::Ja.activity(a), Lang::En.activity(a));
        }
    }
}
