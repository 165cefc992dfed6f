//! Captures every log line of this test binary at INFO and above, once, so that tests can
//! assert the admin API's audit lines (and that no secret is ever written). Tests run in
//! parallel in one process: each filters by its own admin client's id.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static LINES: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LINES
            .get_or_init(Default::default)
            .lock()
            .unwrap()
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber (the first call wins; later ones do nothing).
pub fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(|| Capture)
            .try_init();
    });
}

/// Everything captured so far.
pub fn all() -> String {
    let bytes = LINES.get_or_init(Default::default).lock().unwrap().clone();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The audit lines that contain `needle`.
pub fn lines_with(needle: &str) -> Vec<String> {
    all()
        .lines()
        .filter(|l| l.contains("grantd::audit") && l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// Asserts one audit line with this action, target and outcome.
pub fn assert_audited(lines: &[String], action: &str, target: &str, outcome: &str) {
    let want = [
        format!("action=\"{action}\""),
        format!("target_id=\"{target}\""),
        format!("outcome=\"{outcome}\""),
    ];
    let alt = [
        format!("action={action}"),
        format!("target_id={target}"),
        format!("outcome={outcome}"),
    ];
    assert!(
        lines.iter().any(|l| want
            .iter()
            .zip(&alt)
            .all(|(a, b)| l.contains(a.as_str()) || l.contains(b.as_str()))),
        "no audit line {action} {target} {outcome} in {lines:#?}"
    );
}
