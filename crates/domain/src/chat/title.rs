//! The title rule: a conversation without a title is named after the user's first message.

/// Longest title derived from a message, in characters.
pub const MAX_TITLE_CHARS: usize = 60;

/// Whitespace collapsed, at most 60 characters cut at a word boundary, no trailing punctuation.
/// Returns `None` for a message with no usable text.
pub fn title_from_message(message: &str) -> Option<String> {
    let collapsed = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = if collapsed.chars().count() <= MAX_TITLE_CHARS {
        collapsed
    } else {
        let head: String = collapsed.chars().take(MAX_TITLE_CHARS + 1).collect();
        // The 61st character tells whether the 60th ends a word.
        match head.rfind(' ') {
            Some(space) if space > 0 => head[..space].to_owned(),
            _ => head.chars().take(MAX_TITLE_CHARS).collect(),
        }
    };
    let trimmed = cut
        .trim_end_matches(|c: char| {
            c.is_whitespace()
                || (c.is_ascii_punctuation() && c != ')' && c != '"' && c != '\'')
                || matches!(c, '…' | '¿' | '¡')
        })
        .to_owned();
    if trimmed.is_empty() {
        None
    } else {
        Some(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_lose_only_trailing_punctuation() {
        assert_eq!(
            title_from_message("Which coffee chains are busiest in Austin?").as_deref(),
            Some("Which coffee chains are busiest in Austin")
        );
        assert_eq!(
            title_from_message("  hello\n\nworld!!! ").as_deref(),
            Some("hello world")
        );
        assert_eq!(
            title_from_message("Compare (Q3)").as_deref(),
            Some("Compare (Q3)")
        );
    }

    #[test]
    fn long_messages_are_cut_at_a_word_boundary() {
        let msg = "Show me the trade area profile for every Starbucks in the Dallas-Fort Worth metro, please";
        let title = title_from_message(msg).unwrap();
        assert!(title.chars().count() <= 60, "{title}");
        assert!(msg.starts_with(&title));
        assert_eq!(
            title,
            "Show me the trade area profile for every Starbucks in the"
        );
        // The 60th character ends a word exactly: keep the whole word.
        let exact = format!("{} tail", "a".repeat(60));
        assert_eq!(title_from_message(&exact).unwrap(), "a".repeat(60));
    }

    #[test]
    fn one_long_word_is_hard_cut() {
        let title = title_from_message(&"x".repeat(100)).unwrap();
        assert_eq!(title.chars().count(), 60);
    }

    #[test]
    fn punctuation_only_gives_no_title() {
        assert_eq!(title_from_message("?!... "), None);
        assert_eq!(title_from_message("   "), None);
    }

    #[test]
    fn multibyte_text_is_cut_on_characters() {
        let msg = "é".repeat(30) + " " + &"ü".repeat(40);
        let title = title_from_message(&msg).unwrap();
        assert_eq!(title, "é".repeat(30));
    }
}
