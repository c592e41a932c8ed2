//! The phone's app lock: which PINs are allowed, how wrong PINs are slowed
//! down, when an idle phone locks, and how sealed bytes are written as text
//! into the browser's local storage.
//!
//! The cryptography itself is the browser's (Web Crypto, see the app's
//! `vault` module); these are the rules around it, plain so they are tested
//! here and read the same on every screen.

use serde::{Deserialize, Serialize};

/// PBKDF2-SHA-256 rounds from a PIN to the key that unwraps the data key.
/// A 4–6 digit PIN has at most a million values, so the rounds are what make
/// guessing it from a copied profile slow; more would push the unlock past
/// half a second on a cheap phone (docs/performance.md).
pub const PIN_ROUNDS: u32 = 310_000;
/// Minutes without a touch before an unlocked app locks again, unless the
/// member picks another of [`IDLE_CHOICES`].
pub const IDLE_DEFAULT_MINUTES: u32 = 5;
pub const IDLE_CHOICES: [u32; 4] = [1, 5, 15, 30];
/// Wrong PINs allowed before each further one makes the member wait.
pub const FREE_TRIES: u32 = 5;
/// The first wait after [`FREE_TRIES`]; each further wrong PIN doubles it, up to [`LONGEST_WAIT_MS`].
pub const FIRST_WAIT_MS: f64 = 30_000.0;
pub const LONGEST_WAIT_MS: f64 = 3_600_000.0;

/// Why a PIN cannot be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinProblem {
    /// Not 4 to 6 digits.
    Shape,
    /// One digit repeated, or a run like 1234 or 9876: the first ones anyone tries.
    TooEasy,
    /// The two entries differ.
    Mismatch,
}

impl PinProblem {
    /// Plain words, Chinese first.
    pub fn message(self, zh: bool) -> &'static str {
        match (self, zh) {
            (PinProblem::Shape, true) => "PIN 要 4 到 6 位数字",
            (PinProblem::Shape, false) => "The PIN must be 4 to 6 digits",
            (PinProblem::TooEasy, true) => "这个 PIN 太容易猜，请换一个（不要用重复或连续的数字）",
            (PinProblem::TooEasy, false) => "This PIN is too easy to guess; avoid repeated or consecutive digits",
            (PinProblem::Mismatch, true) => "两次输入的 PIN 不一样",
            (PinProblem::Mismatch, false) => "The two PINs differ",
        }
    }
}

/// Whether `pin` (typed twice: `pin` and `again`) may be set.
pub fn pin_problem(pin: &str, again: &str) -> Option<PinProblem> {
    let digits: Vec<i32> = pin.bytes().map(|b| i32::from(b) - i32::from(b'0')).collect();
    if !(4..=6).contains(&digits.len()) || digits.iter().any(|d| !(0..=9).contains(d)) {
        return Some(PinProblem::Shape);
    }
    let steps: Vec<i32> = digits.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.iter().all(|s| *s == steps[0] && s.abs() <= 1) {
        return Some(PinProblem::TooEasy);
    }
    (pin != again).then_some(PinProblem::Mismatch)
}

/// What the phone keeps in the clear about an account's lock: the data key
/// wrapped twice (by the PIN, and by the key the server hands out after a
/// password sign-in), and the wrong-PIN count. Nothing in it reads a record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhoneLock {
    /// PBKDF2 salt, hex.
    pub salt: String,
    pub rounds: u32,
    /// The data key wrapped by the PIN's key: IV and ciphertext, hex.
    pub by_pin: String,
    /// The data key wrapped by the server's key for this account, hex.
    pub by_server: String,
    #[serde(default)]
    pub wrong: u32,
    /// Unix milliseconds before which no PIN is tried.
    #[serde(default)]
    pub wait_until_ms: f64,
    #[serde(default = "idle_default")]
    pub idle_minutes: u32,
}

fn idle_default() -> u32 {
    IDLE_DEFAULT_MINUTES
}

impl PhoneLock {
    /// Milliseconds still to wait before a PIN may be tried at `now_ms`.
    pub fn wait_ms(&self, now_ms: f64) -> f64 {
        (self.wait_until_ms - now_ms).max(0.0)
    }

    /// Counts a wrong PIN typed at `now_ms` and sets the wait before the next.
    /// The count is never reset by reloading (it is stored) and never ends in
    /// erasing anything: a forgotten PIN is recovered by signing in again.
    pub fn wrong_pin(&mut self, now_ms: f64) {
        self.wrong += 1;
        if self.wrong >= FREE_TRIES {
            let doublings = (self.wrong - FREE_TRIES).min(16);
            let wait = (FIRST_WAIT_MS * f64::from(1u32 << doublings)).min(LONGEST_WAIT_MS);
            self.wait_until_ms = now_ms + wait;
        }
    }

    /// The right PIN: the count starts again.
    pub fn right_pin(&mut self) {
        self.wrong = 0;
        self.wait_until_ms = 0.0;
    }

    /// Whether an app last touched at `last_ms` has been idle long enough at `now_ms` to lock.
    pub fn idle_over(&self, last_ms: f64, now_ms: f64) -> bool {
        now_ms - last_ms >= f64::from(self.idle_minutes.max(1)) * 60_000.0
    }
}

/// Marks a sealed value in local storage (the first character; no JSON starts with it).
pub const SEALED_MARK: char = '\u{1}';
/// First code point of [`pack`]'s alphabet: 32,768 characters from here stay
/// below the surrogates (U+D800), so every one is a whole UTF-16 unit.
const PACK_BASE: u32 = 0x100;

/// Writes bytes as text, 15 bits a character: local storage counts UTF-16
/// units, so this takes about half a unit a byte where hex takes two and
/// Base64 one and a third. The first character says how many bits of the
/// last one are padding.
pub fn pack(bytes: &[u8]) -> String {
    let bits = bytes.len() * 8;
    let chars = bits.div_ceil(15);
    let pad = chars * 15 - bits;
    let mut out = String::with_capacity(chars * 3 + 3);
    out.push(char::from_u32(PACK_BASE + pad as u32).unwrap_or(' '));
    let (mut acc, mut n) = (0u32, 0u32);
    for b in bytes {
        acc = (acc << 8) | u32::from(*b);
        n += 8;
        while n >= 15 {
            n -= 15;
            out.push(char::from_u32(PACK_BASE + ((acc >> n) & 0x7fff)).unwrap_or(' '));
        }
        acc &= (1 << n) - 1;
    }
    if n > 0 {
        out.push(char::from_u32(PACK_BASE + ((acc << (15 - n)) & 0x7fff)).unwrap_or(' '));
    }
    out
}

/// Reads [`pack`]'s text back; `None` if it is not such text.
pub fn unpack(text: &str) -> Option<Vec<u8>> {
    let mut chars = text.chars().map(|c| (c as u32).checked_sub(PACK_BASE).filter(|v| *v < 0x8000));
    let pad = chars.next()?? as usize;
    let values: Vec<u32> = chars.collect::<Option<_>>()?;
    let bits = (values.len() * 15).checked_sub(pad).filter(|b| b % 8 == 0 && pad < 15)?;
    let mut out = Vec::with_capacity(bits / 8);
    let (mut acc, mut n) = (0u32, 0u32);
    for v in values {
        acc = (acc << 15) | v;
        n += 15;
        while n >= 8 && out.len() < bits / 8 {
            n -= 8;
            out.push((acc >> n) as u8);
        }
        acc &= (1 << n) - 1;
    }
    Some(out)
}

/// Lowercase hex of bytes (salts and wrapped keys in [`PhoneLock`]).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Bytes of [`hex`]'s text.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    (text.len() % 2 == 0).then_some(())?;
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// What the server says of an account's phone lock
/// (`GET /api/me/phone-lock`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PhoneLockPolicy {
    /// A coordinator requires a PIN on every phone in this account's area.
    pub pin_required: bool,
    /// The account's phone key (32 bytes, hex): sent only within minutes of a
    /// password sign-in, so a stored session alone never unlocks a phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A coordinator's setting for their unit and everything below it
/// (`PUT /api/units/{id}/phone-lock`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PinRequirement {
    pub pin_required: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_four_to_six_digits_and_not_the_first_ones_tried() {
        assert_eq!(pin_problem("123", "123"), Some(PinProblem::Shape));
        assert_eq!(pin_problem("1234567", "1234567"), Some(PinProblem::Shape));
        assert_eq!(pin_problem("12a4", "12a4"), Some(PinProblem::Shape));
        assert_eq!(pin_problem("２４６８", "２４６８"), Some(PinProblem::Shape));
        for easy in ["0000", "1111", "1234", "4321", "123456", "987654", "555555"] {
            assert_eq!(pin_problem(easy, easy), Some(PinProblem::TooEasy), "{easy}");
        }
        assert_eq!(pin_problem("2468", "2467"), Some(PinProblem::Mismatch));
        for ok in ["2468", "1357", "90210", "120890", "1235"] {
            assert_eq!(pin_problem(ok, ok), None, "{ok}");
        }
    }

    fn lock() -> PhoneLock {
        PhoneLock {
            salt: String::new(),
            rounds: PIN_ROUNDS,
            by_pin: String::new(),
            by_server: String::new(),
            wrong: 0,
            wait_until_ms: 0.0,
            idle_minutes: IDLE_DEFAULT_MINUTES,
        }
    }

    #[test]
    fn wrong_pins_wait_longer_each_time_and_the_right_one_starts_again() {
        let mut l = lock();
        for _ in 0..FREE_TRIES - 1 {
            l.wrong_pin(1000.0);
            assert_eq!(l.wait_ms(1000.0), 0.0);
        }
        l.wrong_pin(1000.0);
        assert_eq!(l.wait_ms(1000.0), FIRST_WAIT_MS);
        assert_eq!(l.wait_ms(1000.0 + FIRST_WAIT_MS), 0.0);
        l.wrong_pin(2000.0);
        assert_eq!(l.wait_ms(2000.0), 2.0 * FIRST_WAIT_MS);
        for _ in 0..40 {
            l.wrong_pin(0.0);
        }
        assert_eq!(l.wait_ms(0.0), LONGEST_WAIT_MS);
        l.right_pin();
        assert_eq!((l.wrong, l.wait_ms(0.0)), (0, 0.0));
    }

    #[test]
    fn the_lock_record_reads_back_and_old_ones_get_defaults() {
        let l = lock();
        let back: PhoneLock = serde_json::from_str(&serde_json::to_string(&l).unwrap()).unwrap();
        assert_eq!(back, l);
        let old: PhoneLock = serde_json::from_str(r#"{"salt":"00","rounds":1,"by_pin":"","by_server":""}"#).unwrap();
        assert_eq!((old.wrong, old.idle_minutes), (0, IDLE_DEFAULT_MINUTES));
    }

    #[test]
    fn idle_locks_after_the_chosen_minutes() {
        let mut l = lock();
        assert!(!l.idle_over(0.0, 299_999.0));
        assert!(l.idle_over(0.0, 300_000.0));
        l.idle_minutes = 1;
        assert!(l.idle_over(0.0, 60_000.0));
    }

    #[test]
    fn packed_bytes_read_back_at_every_length() {
        for len in 0..80usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = pack(&bytes);
            assert!(text.chars().all(|c| (0x100..0xd800).contains(&(c as u32))), "{len}");
            assert_eq!(unpack(&text), Some(bytes), "{len}");
        }
        let kb: Vec<u8> = (0..1024).map(|i| (i % 251) as u8).collect();
        // About half a UTF-16 unit a byte.
        assert!(pack(&kb).chars().count() <= 1024 * 8 / 15 + 2);
        assert_eq!(unpack("{\"a\":1}"), None);
        assert_eq!(unpack(""), None);
    }

    #[test]
    fn hex_reads_back() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(unhex("000fff"), Some(vec![0, 15, 255]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
