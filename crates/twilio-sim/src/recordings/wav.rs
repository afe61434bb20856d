//! RIFF/WAVE writer for recordings: 8 kHz 16-bit little-endian PCM, stereo or the two channels summed to mono.

use super::RATE;

/// A WAV file of `frames` (`[channel 1, channel 2]`), `channels` 2 as stored or 1 mixed down (saturating sum).
pub fn encode(frames: &[[i16; 2]], channels: u8) -> Vec<u8> {
    let channels: u16 = if channels == 2 { 2 } else { 1 };
    let data_len = frames.len() * 2 * usize::from(channels);
    // A RIFF size is 32-bit; recordings are bounded far below that (MAX_SECONDS).
    let data_len32 = u32::try_from(data_len).unwrap_or(u32::MAX - 36);
    let mut b = Vec::with_capacity(44 + data_len);
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes()); // PCM
    b.extend_from_slice(&channels.to_le_bytes());
    b.extend_from_slice(&RATE.to_le_bytes());
    b.extend_from_slice(&(RATE * 2 * u32::from(channels)).to_le_bytes());
    b.extend_from_slice(&(2 * channels).to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len32.to_le_bytes());
    for [a, c] in frames {
        if channels == 2 {
            b.extend_from_slice(&a.to_le_bytes());
            b.extend_from_slice(&c.to_le_bytes());
        } else {
            b.extend_from_slice(&a.saturating_add(*c).to_le_bytes());
        }
    }
    b
}

/// Reads back a WAV this module wrote (tests, tools): `(channels, samples per channel)`; `None` if it is not one.
pub fn decode(b: &[u8]) -> Option<(u16, Vec<Vec<i16>>)> {
    if b.len() < 44 || &b[0..4] != b"RIFF" || &b[8..16] != b"WAVEfmt " || &b[36..40] != b"data" {
        return None;
    }
    let channels = u16::from_le_bytes([b[22], b[23]]);
    if !(1..=2).contains(&channels) || u16::from_le_bytes([b[34], b[35]]) != 16 {
        return None;
    }
    let data = &b[44..];
    let mut out = vec![Vec::new(); usize::from(channels)];
    for (i, s) in data.chunks_exact(2).enumerate() {
        if let Some(ch) = out.get_mut(i % usize::from(channels)) {
            ch.push(i16::from_le_bytes([s[0], s[1]]));
        }
    }
    Some((channels, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stereo_round_trips_and_mono_sums() {
        let frames = [[100, -3], [i16::MAX, 10], [-5, -7]];
        let (ch, s) = decode(&encode(&frames, 2)).unwrap();
        assert_eq!(
            (ch, s[0].as_slice(), s[1].as_slice()),
            (2, &[100, i16::MAX, -5][..], &[-3, 10, -7][..])
        );
        let (ch, s) = decode(&encode(&frames, 1)).unwrap();
        assert_eq!((ch, s[0].as_slice()), (1, &[97, i16::MAX, -12][..]));
        let w = encode(&frames, 2);
        assert_eq!(u32::from_le_bytes([w[24], w[25], w[26], w[27]]), 8_000);
        assert_eq!(w.len(), 44 + 12);
        assert_eq!(decode(b"not a wav"), None);
    }
}
