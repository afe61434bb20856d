//! The error every command returns: serialized as `{ kind, message }` so the UI can branch on `kind`.

use serde::{Serialize, Serializer};

/// What went wrong in the shell, in words an agent or an operator can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The tray icon or its menu could not be updated.
    #[error("the tray icon could not be updated: {0}")]
    Tray(#[source] tauri::Error),
    /// The UI could not be told about a change.
    #[error("the window could not be notified: {0}")]
    Emit(#[source] tauri::Error),
}

impl AppError {
    /// A stable machine-readable name for the UI.
    pub fn kind(&self) -> &'static str {
        match self {
            AppError::Tray(_) => "tray",
            AppError::Emit(_) => "emit",
        }
    }
}

impl Serialize for AppError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("AppError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_kind_and_message() {
        let error = AppError::Emit(tauri::Error::WebviewNotFound);
        let json = serde_json::to_value(&error).unwrap();
        assert_eq!(json["kind"], "emit");
        assert!(json["message"]
            .as_str()
            .unwrap()
            .starts_with("the window could not be notified"));
    }
}
