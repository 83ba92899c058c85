//! The `pattern`s of the OpenAPI document, one per domain rule. utoipa takes them only as
//! literals in `#[schema(pattern = …)]`, so each literal there must equal the constant here; the
//! tests check both that (via the generated document) and that each pattern accepts exactly what
//! the domain's parser accepts.

/// `MessageContent`: some visible character; no control characters but tab, LF and CR.
pub const CONTENT: &str = r"^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]*$";
/// `ConversationTitle`, `DisplayName`: some visible character; no control characters.
pub const LINE: &str = r"^[^\u0000-\u001F\u007F-\u009F]*[^\u0000-\u0020\u007F-\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000][^\u0000-\u001F\u007F-\u009F]*$";
/// `Email` (a documented subset: the server also takes longer dot-atoms and Unicode letters).
pub const EMAIL: &str = r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16})?@[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?){1,3}$";
/// `Password` at signup: printable ASCII, so that 72 characters are 72 bytes (the server takes
/// any UTF-8 of 8–72 bytes).
pub const PASSWORD: &str = r"^[\u0020-\u007E]*$";
/// `ConversationCursor`: what `next_cursor` holds (or empty for the first page).
pub const CURSOR: &str = r"^([0-9]{1,17}_[0-9a-fA-F]{32})?$";
/// `GET /health/ready?checks=`: a comma-separated list of the checks a server runs, so an
/// empty or unknown list is not schema-valid (the handler answers those 422).
pub const READY_CHECKS: &str =
    r"^(database|agent_backend|shutdown)(,(database|agent_backend|shutdown))*$";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pi_domain::chat::{ConversationCursor, ConversationTitle, MessageContent};
    use pi_domain::user::{DisplayName, Email, Password};
    use regex::Regex;
    use serde_json::Value;
    use utoipa::OpenApi as _;

    /// Strings around every boundary the rules draw: controls, Unicode spaces, trimming.
    fn samples() -> Vec<String> {
        let mut out: Vec<String> = [
            "hello",
            " hi ",
            "a\tb",
            "line\r\nnext",
            "\n",
            " ",
            "\t",
            "",
            "x\u{0}",
            "\u{1f}",
            "\u{7f}",
            "\u{85}",
            "\u{8c}",
            "\u{a0}",
            "\u{a0}x",
            "\u{2003}",
            "\u{3000}y",
            "\u{feff}",
            "é",
            "emoji 🙂",
            "trailing\n",
            "\u{7}bell",
            "mid\u{1b}esc",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        for c in (0u32..0x300).chain([
            0x1680, 0x2000, 0x200a, 0x200b, 0x2028, 0x202f, 0x205f, 0x3000,
        ]) {
            if let Some(c) = char::from_u32(c) {
                out.push(c.to_string());
                out.push(format!("a{c}"));
            }
        }
        out
    }

    #[test]
    fn content_and_line_patterns_accept_exactly_what_the_domain_accepts() {
        let content = Regex::new(CONTENT).unwrap();
        let line = Regex::new(LINE).unwrap();
        for s in samples() {
            let domain = MessageContent::parse("content", s.clone()).is_ok();
            // `$` in Python/ECMA may match before a final newline, so compare without it.
            let trimmed_newline = s.strip_suffix('\n').unwrap_or(&s);
            assert_eq!(content.is_match(&s), domain, "content {s:?}");
            if line.is_match(trimmed_newline) {
                assert!(ConversationTitle::parse(&s).is_ok(), "title {s:?}");
                assert!(DisplayName::parse(&s).is_ok(), "display name {s:?}");
            }
            if ConversationTitle::parse(&s).is_ok() && s == s.trim() {
                assert!(line.is_match(&s), "title {s:?} accepted but off-pattern");
            }
        }
    }

    #[test]
    fn documented_subsets_are_accepted_by_the_domain() {
        let email = Regex::new(EMAIL).unwrap();
        for ok in [
            "a@b.co",
            "o'brien+pi@example.com",
            "x.y@sub.example.org",
            "A@B.CO",
        ] {
            assert!(email.is_match(ok), "{ok}");
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "<script>@x.example",
            "a@b",
            "a..b@c.de",
            "a@-b.com",
            "not-an-email",
        ] {
            assert!(!email.is_match(bad), "{bad}");
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
        let password = Regex::new(PASSWORD).unwrap();
        for s in ["password", "pass word!", &"~".repeat(72)] {
            assert!(
                password.is_match(s) && Password::parse(s.to_owned()).is_ok(),
                "{s}"
            );
        }
        assert!(!password.is_match("pässwörd"));
        let cursor = Regex::new(CURSOR).unwrap();
        let id = "0123456789abcdef0123456789ABCDEF";
        for ok in [format!("1_{id}"), format!("99999999999999999_{id}")] {
            assert!(
                cursor.is_match(&ok) && ConversationCursor::decode(&ok).is_some(),
                "{ok}"
            );
        }
        assert!(!cursor.is_match(&format!("-1_{id}")));
        let checks = Regex::new(READY_CHECKS).unwrap();
        for ok in [
            "database",
            "database,shutdown",
            "agent_backend,database,shutdown",
        ] {
            assert!(checks.is_match(ok), "{ok}");
        }
        for bad in ["", ",", "database,", "database,disk", "Database"] {
            assert!(!checks.is_match(bad), "{bad:?}");
        }
    }

    /// The literals in `#[schema(pattern = …)]` are these constants.
    #[test]
    fn the_document_uses_these_patterns() {
        let doc: Value = serde_json::to_value(crate::ApiDoc::openapi()).unwrap();
        let schema = |name: &str, field: &str| {
            doc["components"]["schemas"][name]["properties"][field]["pattern"]
                .as_str()
                .map(str::to_owned)
        };
        assert_eq!(
            schema("SendMessageBody", "content").as_deref(),
            Some(CONTENT)
        );
        assert_eq!(
            schema("AgentMessageBody", "content").as_deref(),
            Some(CONTENT)
        );
        assert_eq!(
            schema("LegacyMessageBody", "message").as_deref(),
            Some(CONTENT)
        );
        assert_eq!(
            schema("RenameConversationBody", "title").as_deref(),
            Some(LINE)
        );
        assert_eq!(schema("SignupBody", "display_name").as_deref(), Some(LINE));
        assert_eq!(schema("SignupBody", "email").as_deref(), Some(EMAIL));
        assert_eq!(schema("SignupBody", "password").as_deref(), Some(PASSWORD));
        let ready = doc["paths"]["/health/ready"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "checks")
            .unwrap();
        assert_eq!(ready["schema"]["pattern"].as_str(), Some(READY_CHECKS));
        let text = doc.to_string();
        assert!(text.contains(&serde_json::to_string(CURSOR).unwrap()));
    }
}
