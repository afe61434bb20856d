//! Opus through Debian's libopus (feature `opus`, via `audiopus`). Without the feature the same types exist
//! but [`OpusEncoder::new`]/[`OpusDecoder::new`] fail, so the endpoint simply does not offer Opus.

/// Whether Opus is compiled in.
pub const AVAILABLE: bool = cfg!(feature = "opus");

#[cfg(feature = "opus")]
mod imp {
    use audiopus::coder::{Decoder, Encoder};
    use audiopus::{Application, Channels, MutSignals, SampleRate};

    use crate::codec::FRAME_SAMPLES;
    use crate::error::{MediaError, Result};

    /// The longest Opus packet (120 ms at 48 kHz).
    const MAX_SAMPLES: usize = 5_760;
    /// Largest encoded packet we produce.
    const MAX_BYTES: usize = 1_275;

    fn err(e: audiopus::Error) -> MediaError {
        MediaError::Codec(e.to_string())
    }

    /// libopus encoder: 48 kHz mono, VoIP, in-band FEC.
    pub struct OpusEncoder(Encoder);

    impl OpusEncoder {
        /// A fresh encoder.
        pub fn new() -> Result<Self> {
            let mut e = Encoder::new(SampleRate::Hz48000, Channels::Mono, Application::Voip)
                .map_err(err)?;
            e.set_inband_fec(true).map_err(err)?;
            e.set_packet_loss_perc(5).map_err(err)?;
            Ok(Self(e))
        }

        /// Encodes one 20 ms frame.
        pub fn encode(&mut self, frame: &[i16; FRAME_SAMPLES]) -> Result<Vec<u8>> {
            let mut out = vec![0u8; MAX_BYTES];
            let n = self.0.encode(frame, &mut out).map_err(err)?;
            out.truncate(n);
            Ok(out)
        }
    }

    /// libopus decoder, mono output at 48 kHz.
    pub struct OpusDecoder(Decoder);

    impl OpusDecoder {
        /// A fresh decoder.
        pub fn new() -> Result<Self> {
            Ok(Self(
                Decoder::new(SampleRate::Hz48000, Channels::Mono).map_err(err)?,
            ))
        }

        /// Decodes one packet, appending samples to `out`.
        pub fn decode(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<usize> {
            let packet = audiopus::packet::Packet::try_from(payload).map_err(err)?;
            let mut pcm = vec![0i16; MAX_SAMPLES];
            let signals = MutSignals::try_from(&mut pcm[..]).map_err(err)?;
            let n = self.0.decode(Some(packet), signals, false).map_err(err)?;
            out.extend_from_slice(pcm.get(..n).unwrap_or(&[]));
            Ok(n)
        }

        /// libopus packet-loss concealment for `samples`, appended to `out`.
        pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
            let mut pcm = vec![0i16; samples.clamp(1, MAX_SAMPLES)];
            let len = pcm.len();
            let n = MutSignals::try_from(&mut pcm[..])
                .and_then(|signals| self.0.decode(None, signals, false))
                .unwrap_or(0);
            pcm.truncate(n);
            pcm.resize(len, 0);
            out.extend_from_slice(&pcm);
        }

        /// Samples the packet decodes to.
        pub fn duration(&self, payload: &[u8]) -> Option<usize> {
            audiopus::packet::Packet::try_from(payload)
                .ok()
                .and_then(|p| audiopus::packet::nb_samples(p, SampleRate::Hz48000).ok())
        }
    }
}

#[cfg(not(feature = "opus"))]
mod imp {
    use crate::codec::FRAME_SAMPLES;
    use crate::error::{MediaError, Result};

    fn missing() -> MediaError {
        MediaError::Codec("Opus support is not compiled in (feature `opus`)".into())
    }

    /// Placeholder: Opus is not compiled in.
    pub struct OpusEncoder(());

    impl OpusEncoder {
        /// Always fails.
        pub fn new() -> Result<Self> {
            Err(missing())
        }

        /// Unreachable in practice ([`Self::new`] fails).
        pub fn encode(&mut self, _frame: &[i16; FRAME_SAMPLES]) -> Result<Vec<u8>> {
            Err(missing())
        }
    }

    /// Placeholder: Opus is not compiled in.
    pub struct OpusDecoder(());

    impl OpusDecoder {
        /// Always fails.
        pub fn new() -> Result<Self> {
            Err(missing())
        }

        /// Unreachable in practice ([`Self::new`] fails).
        pub fn decode(&mut self, _payload: &[u8], _out: &mut Vec<i16>) -> Result<usize> {
            Err(missing())
        }

        /// Silence.
        pub fn conceal(&mut self, samples: usize, out: &mut Vec<i16>) {
            out.resize(out.len() + samples, 0);
        }

        /// Unknown.
        pub fn duration(&self, _payload: &[u8]) -> Option<usize> {
            None
        }
    }
}

pub use imp::{OpusDecoder, OpusEncoder};
