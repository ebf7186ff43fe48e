//! Randomness from the operating system, for everything that must not be
//! guessed: user ids, tokens, codes, salts, error ids.

/// Fills `buf` from the OS generator.
pub fn fill_random(buf: &mut [u8]) {
    // The OS generator failing leaves no safe way to go on.
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// `bytes` random bytes as lowercase hex.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf);
    hex::encode(buf)
}

/// `length` symbols drawn uniformly from `alphabet` (at most 256 symbols).
pub fn random_symbols(alphabet: &[u8], length: usize) -> String {
    // Rejecting bytes at or above the largest multiple of the alphabet's size
    // keeps every symbol equally likely.
    let size = alphabet.len();
    let accept_below = 256 - 256 % size;
    let mut out = String::with_capacity(length);
    let mut byte = [0u8; 1];
    while out.len() < length {
        fill_random(&mut byte);
        if usize::from(byte[0]) < accept_below {
            out.push(alphabet[usize::from(byte[0]) % size] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_hex_has_two_characters_per_byte_and_differs() {
        let a = random_hex(16);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, random_hex(16));
    }

    #[test]
    fn random_symbols_come_from_the_alphabet() {
        let drawn = random_symbols(b"AB7", 200);
        assert_eq!(drawn.len(), 200);
        assert!(drawn.bytes().all(|b| b"AB7".contains(&b)));
        assert!(drawn.contains('A') && drawn.contains('B') && drawn.contains('7'));
    }
}
