//! Where the live Letta test stack is: the settings file `cargo xtask letta-up` writes
//! (`LETTA_IT_ENV`, default `/var/tmp/pi-letta/run/letta.env`), read by the live suite and the
//! `letta` benchmark.

/// Connection settings of a running Letta test server.
#[derive(Debug, Clone)]
pub struct LettaEnv {
    /// e.g. `http://127.0.0.1:18283`.
    pub base_url: String,
    /// Its `LETTA_SERVER_PASSWORD`.
    pub password: String,
    /// Model handle of the fake LLM.
    pub model: String,
    /// Embedding handle.
    pub embedding: String,
}

impl LettaEnv {
    /// Path of the settings file.
    pub fn path() -> String {
        std::env::var("LETTA_IT_ENV").unwrap_or_else(|_| "/var/tmp/pi-letta/run/letta.env".into())
    }

    /// Reads the settings file; the error names what is missing.
    ///
    /// # Errors
    /// When the file is unreadable or lacks a key.
    pub fn load() -> Result<Self, String> {
        let path = Self::path();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("{path} is unreadable ({e}): run `cargo xtask letta-up`"))?;
        let get = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .map(str::to_owned)
                .ok_or_else(|| format!("{key} missing from {path}"))
        };
        Ok(Self {
            base_url: get("LETTA_BASE_URL")?,
            password: get("LETTA_SERVER_PASSWORD")?,
            model: get("LETTA_MODEL")?,
            embedding: get("LETTA_EMBEDDING")?,
        })
    }
}
