//! Validated value types. Constructing one proves the value is well-formed.

use std::fmt;

use uuid::Uuid;

use crate::FieldError;

/// A user's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub Uuid);

impl UserId {
    /// A fresh random id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A syntactically valid email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Longest address accepted (RFC 5321 path limit).
    pub const MAX_LEN: usize = 254;

    /// Validates and normalises an email address.
    ///
    /// # Errors
    /// A [`FieldError`] on `email` saying what is wrong.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim().to_lowercase();
        let invalid = |msg: &str| Err(FieldError::new("email", msg));
        if value.is_empty() {
            return invalid("email is required");
        }
        if value.len() > Self::MAX_LEN {
            return invalid("email must be at most 254 characters");
        }
        if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid("email must not contain spaces");
        }
        let Some((local, domain)) = value.rsplit_once('@') else {
            return invalid("email must contain '@'");
        };
        // RFC 5322 dot-atom: letters, digits and !#$%&'*+/=?^_`{|}~- in dot-separated runs.
        let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        if local.is_empty()
            || local.len() > 64
            || !local
                .split('.')
                .all(|part| !part.is_empty() && part.chars().all(atext))
        {
            return invalid("email has an invalid part before '@'");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        if labels.len() < 2 || !labels.iter().all(label_ok) {
            return invalid("email has an invalid domain");
        }
        Ok(Self(value))
    }

    /// The form of a login's email used to look its account up: today's rules, or else the
    /// normalised text (accounts created under looser rules still sign in). `None` when no
    /// account can have it (no `@`, control characters, too long).
    pub fn for_lookup(raw: &str) -> Option<Self> {
        if let Ok(email) = Self::parse(raw) {
            return Some(email);
        }
        let value = raw.trim().to_lowercase();
        let plausible = value.len() <= Self::MAX_LEN
            && value.contains('@')
            && !value.chars().any(|c| c.is_control() || c.is_whitespace());
        plausible.then_some(Self(value))
    }

    /// An address read back from the store: it passed the rules in force when it was stored,
    /// which may have been looser than today's; refusing it now would lock its owner out.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name: 1–255 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest name accepted, in characters.
    pub const MAX_CHARS: usize = 255;

    /// Validates a display name.
    ///
    /// # Errors
    /// A [`FieldError`] on `display_name`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let value = raw.trim();
        if value.is_empty() {
            return Err(FieldError::new("display_name", "display name is required"));
        }
        if value.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                "display_name",
                "display name must be at most 255 characters",
            ));
        }
        if value.chars().any(char::is_control) {
            return Err(FieldError::new(
                "display_name",
                "display name must not contain control characters",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A plaintext password of 8–72 bytes (bcrypt ignores bytes past 72, so longer ones are refused).
/// `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// Shortest password accepted, in bytes.
    pub const MIN_BYTES: usize = 8;
    /// Longest password accepted, in bytes (bcrypt's limit).
    pub const MAX_BYTES: usize = 72;

    /// Validates a new password (signup).
    ///
    /// # Errors
    /// A [`FieldError`] on `password`.
    pub fn parse(raw: String) -> Result<Self, FieldError> {
        if raw.len() < Self::MIN_BYTES {
            return Err(FieldError::new(
                "password",
                "password must be at least 8 bytes",
            ));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(FieldError::new(
                "password",
                "password must be at most 72 bytes",
            ));
        }
        Ok(Self(raw))
    }

    /// Wraps a password offered at login without the minimum-length rule (so that a login
    /// attempt never tells which rule a stored password follows). `None` beyond
    /// [`Password::MAX_BYTES`]: no account can have such a password, and bcrypt would compare
    /// only its first 72 bytes.
    pub fn candidate(raw: String) -> Option<Self> {
        (raw.len() <= Self::MAX_BYTES).then_some(Self(raw))
    }

    /// The plaintext, for the hasher only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// A password hash in the hasher's own format (bcrypt `$2b$…`).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored hash.
    pub fn new(hash: impl Into<String>) -> Self {
        Self(hash.into())
    }

    /// The encoded hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_candidates_beyond_bcrypts_limit_are_none() {
        assert!(Password::candidate("a".repeat(72)).is_some());
        assert!(Password::candidate("short".into()).is_some());
        assert!(Password::candidate("a".repeat(73)).is_none());
    }

    #[test]
    fn lookup_accepts_older_addresses_but_never_control_characters() {
        assert_eq!(
            Email::for_lookup(" A<b>@Example.com").map(|e| e.0),
            Some("a<b>@example.com".to_owned())
        );
        for bad in ["a\u{0}@example.com", "no-at-sign", "a b@example.com"] {
            assert!(Email::for_lookup(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn usual_addresses_are_accepted() {
        for ok in [
            "o'brien+pi@example.com",
            "a.b_c-d@sub.example.co.uk",
            "x{y}@example.com",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn email_is_trimmed_and_lower_cased() {
        let email = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
        assert_eq!(email.as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn invalid_emails_are_refused() {
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@exa mple.com",
            "a@-example.com",
            "a@example..com",
            "a@b@example.com",
            "<script>@x.example",
            "a\"b@example.com",
            ".a@example.com",
            "a..b@example.com",
            "a(b)@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn display_name_bounds() {
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse(&"é".repeat(255)).is_ok());
        assert!(DisplayName::parse(&"é".repeat(256)).is_err());
        assert_eq!(DisplayName::parse(" Ada ").unwrap().as_str(), "Ada");
    }

    #[test]
    fn password_length_is_counted_in_bytes() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("12345678".into()).is_ok());
        assert!(Password::parse("a".repeat(72)).is_ok());
        assert!(Password::parse("a".repeat(73)).is_err());
        // 24 three-byte characters = 72 bytes: accepted; 25 = 75 bytes: refused.
        assert!(Password::parse("€".repeat(24)).is_ok());
        assert!(Password::parse("€".repeat(25)).is_err());
    }

    #[test]
    fn secrets_do_not_leak_through_debug() {
        let p = Password::parse("hunter22hunter22".into()).unwrap();
        assert!(!format!("{p:?}").contains("hunter22"));
        let h = PasswordHash::new("$2b$12$abc");
        assert!(!format!("{h:?}").contains("abc"));
    }
}
