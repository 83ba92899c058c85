//! Validated chat input: a message's text and a conversation's title. One rule for every
//! database (PostgreSQL refuses NUL in text; SQLite would store it) and every route.

use std::fmt;

use crate::FieldError;

/// A message's text: 1–16,000 characters, not only whitespace, no control characters other
/// than tab, line feed and carriage return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageContent(String);

impl MessageContent {
    /// Longest message accepted, in characters.
    pub const MAX_CHARS: usize = 16_000;

    /// Validates a message; `field` is the name the client used (`content`, `message`).
    ///
    /// # Errors
    /// A [`FieldError`] on `field` saying what is wrong.
    pub fn parse(field: &str, raw: String) -> Result<Self, FieldError> {
        if raw.trim().is_empty() {
            return Err(FieldError::new(field, "message must not be empty"));
        }
        let chars = raw.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(FieldError::new(
                field,
                format!(
                    "message must be at most {} characters (got {chars})",
                    Self::MAX_CHARS
                ),
            ));
        }
        if let Some(c) = raw
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(FieldError::new(
                field,
                format!(
                    "message must not contain control characters (found U+{:04X})",
                    u32::from(c)
                ),
            ));
        }
        Ok(Self(raw))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Display for MessageContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A conversation title: 1–255 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationTitle(String);

impl ConversationTitle {
    /// Longest title accepted, in characters.
    pub const MAX_CHARS: usize = 255;

    /// Validates and trims a title.
    ///
    /// # Errors
    /// A [`FieldError`] on `title`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let title = raw.trim();
        if title.is_empty() {
            return Err(FieldError::new("title", "title must not be empty"));
        }
        if title.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                "title",
                format!("title must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if title.chars().any(char::is_control) {
            return Err(FieldError::new(
                "title",
                "title must not contain control characters",
            ));
        }
        Ok(Self(title.to_owned()))
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The title, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_keeps_text_layout_and_refuses_other_controls() {
        assert!(MessageContent::parse("content", "a\tb\r\nc".into()).is_ok());
        for bad in [
            "hello\u{0}world",
            "bell\u{7}",
            "esc\u{1b}[0m",
            "c1\u{85}",
            "del\u{7f}",
        ] {
            let e = MessageContent::parse("content", bad.into()).unwrap_err();
            assert_eq!(e.field, "content");
            assert!(e.message.contains("control"), "{bad:?}: {}", e.message);
        }
        assert_eq!(
            MessageContent::parse("message", "  \n ".into())
                .unwrap_err()
                .field,
            "message"
        );
        assert!(MessageContent::parse("content", "é".repeat(16_000)).is_ok());
        assert!(MessageContent::parse("content", "é".repeat(16_001)).is_err());
    }

    #[test]
    fn title_is_trimmed_single_line_text() {
        assert_eq!(
            ConversationTitle::parse("  Q3 sites ").unwrap().as_str(),
            "Q3 sites"
        );
        for bad in ["", "   ", "a\u{0}b", "two\nlines", "tab\there"] {
            assert_eq!(
                ConversationTitle::parse(bad).unwrap_err().field,
                "title",
                "{bad:?}"
            );
        }
        assert!(ConversationTitle::parse(&"x".repeat(255)).is_ok());
        assert!(ConversationTitle::parse(&"x".repeat(256)).is_err());
    }
}
