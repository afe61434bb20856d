//! The crate's one error type.

/// What can go wrong in the media engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The remote SDP could not be parsed.
    #[error("invalid SDP: {0}")]
    Sdp(String),
    /// str0m refused the negotiation or an input.
    #[error("WebRTC: {0}")]
    Rtc(#[from] str0m::RtcError),
    /// A datagram too short or too odd to classify (STUN, DTLS, RTP).
    #[error("unrecognised datagram")]
    Datagram,
    /// An offer/answer call came in the wrong state (e.g. an answer without an offer).
    #[error("negotiation out of order: {0}")]
    Negotiation(&'static str),
    /// No codec in common with the remote.
    #[error("no common audio codec (PCMU or Opus)")]
    NoCommonCodec,
    /// An encoder or decoder failed.
    #[error("codec: {0}")]
    Codec(String),
    /// A socket could not be bound or used.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    /// A candidate address is unusable for ICE.
    #[error("unusable candidate address {0}")]
    Candidate(std::net::SocketAddr),
    /// The call task has ended.
    #[error("the call has ended")]
    Closed,
    /// A sound device failed or is missing.
    #[error("audio device: {0}")]
    Device(String),
}

/// `Result` with [`MediaError`].
pub type Result<T, E = MediaError> = std::result::Result<T, E>;
