//! G.711 µ-law (PCMU, RTP payload type 0): 16-bit linear PCM ⇄ 8-bit µ-law, per ITU-T G.711 with the usual
//! 0x84 bias. Pure functions; every byte value decodes. The stand-in's media legs use this codec too.

/// µ-law of digital silence (what a muted WebRTC track sends).
pub const SILENCE: u8 = 0xff;

/// Encodes one linear sample.
pub fn encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let s = i32::from(sample);
    let (sign, magnitude) = if s < 0 {
        (0x80, (-s).min(CLIP))
    } else {
        (0, s.min(CLIP))
    };
    let biased = magnitude + BIAS;
    // The segment (exponent) is the position of the highest set bit among bits 7..=14.
    let mut exponent = 7;
    while exponent > 0 && biased & (0x80 << exponent) == 0 {
        exponent -= 1;
    }
    let mantissa = (biased >> (exponent + 3)) & 0x0f;
    // Invariant: sign | exponent << 4 | mantissa fits in 8 bits (exponent ≤ 7, mantissa ≤ 15).
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Decodes one µ-law byte.
pub fn decode(byte: u8) -> i16 {
    let u = !byte;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i32::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    // Invariant: magnitude ≤ (15·8 + 132)·128 − 132 = 32 124, so it fits in i16.
    let m = magnitude as i16;
    if u & 0x80 != 0 {
        -m
    } else {
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_and_extremes() {
        assert_eq!(encode(0), SILENCE);
        assert_eq!(decode(SILENCE), 0);
        assert_eq!(decode(encode(i16::MAX)), 32_124);
        assert_eq!(decode(encode(i16::MIN)), -32_124);
    }

    #[test]
    fn every_byte_round_trips_through_linear() {
        for b in 0..=255u8 {
            let lin = decode(b);
            // 0x7f and 0xff both mean zero; every other code is canonical.
            if b != 0x7f {
                assert_eq!(encode(lin), b, "byte {b:#04x} -> {lin}");
            }
        }
    }

    #[test]
    fn quantization_error_is_bounded() {
        for s in (-32_000i32..32_000).step_by(7) {
            let s = s as i16;
            let back = decode(encode(s));
            let err = (i32::from(back) - i32::from(s)).abs();
            // The step size doubles per segment: ≤ 1/16 of the magnitude, plus the smallest step.
            assert!(err <= i32::from(s).abs() / 16 + 8, "{s} -> {back}");
        }
    }
}
