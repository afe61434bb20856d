//! Twilio Access Tokens (JWT, HS256): minting and verification.
//!
//! Owns the exact wire format of backend-spec §2.1–2.3, hand-rolled so a minted token is byte-identical to the
//! one twilio-node 6.2.0 emits for the same inputs:
//!
//! - header `{"alg":"HS256","typ":"JWT","cty":"twilio-fpa;v=1"}`, plus `"twr":"<region>"` only when a region is set;
//! - claims in the order `jti, grants, [nbf], iat, exp, iss, sub`, with `jti = "<iss>-<iat>"`;
//! - grants in the order `identity, voice, task_router, data_sync`, each key present only when set.
//!
//! Ordering comes from struct field order and an ordered list for voice `params`, so it does not depend on
//! serde_json's `preserve_order` feature. Time is an input (`now_unix`, Unix seconds); this module never reads a
//! clock. Verification never panics on any input, bounds the token length ([`MAX_TOKEN_LEN`]) and compares the
//! HMAC in constant time. Each failure maps to the Twilio error code the real service uses
//! ([`TokenError::twilio_code`]).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::sid::{
    AccountSid, ApiKeySid, ApplicationSid, SidError, SyncServiceSid, WorkerSid, WorkspaceSid,
};

/// Longest token [`verify`] and [`decode_unverified`] accept, in bytes. Real tokens are well under 2 KiB.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;
/// Longest lifetime (`exp - iat`) Twilio accepts: 24 h (error 20157 above it).
pub const MAX_TTL_SECS: u64 = 86_400;
/// twilio-node's default lifetime: 1 h.
pub const DEFAULT_TTL_SECS: u64 = 3_600;
/// The JWT `cty` Twilio requires.
pub const CONTENT_TYPE: &str = "twilio-fpa;v=1";

/// Which of the three dot-separated parts of a JWT an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    /// The first part (JOSE header).
    Header,
    /// The second part (claims).
    Payload,
    /// The third part (HMAC).
    Signature,
}

/// Why a token could not be minted or did not verify.
///
/// [`TokenError::twilio_code`] gives the Twilio error code the real service answers with for the same problem
/// (`twilio.com/docs/api/errors/<code>`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is longer than [`MAX_TOKEN_LEN`]. Code 20101.
    #[error("access token too long: {len} bytes (max {max})")]
    TooLong {
        /// Length of the input.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The token does not have exactly three dot-separated segments. Code 20101.
    #[error("access token must have 3 segments, found {found}")]
    WrongSegmentCount {
        /// Number of segments found.
        found: usize,
    },
    /// A segment is not unpadded base64url. Code 20101.
    #[error("access token {0:?} segment is not valid base64url")]
    InvalidBase64(Segment),
    /// The header or payload is not the expected JSON object. Code 20101.
    #[error("access token {segment:?} segment is not valid JSON: {source}")]
    InvalidJson {
        /// Which segment.
        segment: Segment,
        /// The JSON error (no token content is echoed).
        #[source]
        source: serde_json::Error,
    },
    /// The header is JSON but not `alg HS256`, `typ JWT`, `cty twilio-fpa;v=1`. Code 20102.
    #[error("access token header has a missing or unsupported `{field}`")]
    InvalidHeader {
        /// The offending header field: `"alg"`, `"typ"` or `"cty"`.
        field: &'static str,
    },
    /// The HMAC does not match (wrong secret, or the token was altered). Code 20107.
    #[error("access token signature is invalid")]
    InvalidSignature,
    /// `iss` is not an API key SID (`SK…`). Code 20103.
    #[error("access token issuer is invalid: {0}")]
    InvalidIssuer(#[source] SidError),
    /// `sub` is not an account SID (`AC…`). Code 20103.
    #[error("access token subject is invalid: {0}")]
    InvalidSubject(#[source] SidError),
    /// `sub` is a valid account SID, but not the expected account. Code 20103 (issuer/subject mismatch).
    #[error("access token subject is not the expected account")]
    AccountMismatch,
    /// `exp` is at or before `iat`. Code 20104 ("expiration date invalid").
    #[error("access token expires ({exp}) at or before it is issued ({iat})")]
    ExpiryBeforeIssue {
        /// `iat` claim.
        iat: u64,
        /// `exp` claim.
        exp: u64,
    },
    /// The token has expired (`now >= exp + leeway`). Code 20104.
    #[error("access token expired at {exp} (now {now})")]
    Expired {
        /// `exp` claim.
        exp: u64,
        /// The time the check used.
        now: u64,
    },
    /// The token is not valid yet (`now + leeway < max(iat, nbf)`). Code 20105.
    #[error("access token not valid before {valid_from} (now {now})")]
    NotYetValid {
        /// `max(iat, nbf)`.
        valid_from: u64,
        /// The time the check used.
        now: u64,
    },
    /// The lifetime exceeds [`MAX_TTL_SECS`]. Code 20157. Also returned by [`AccessToken::to_jwt`].
    #[error("access token lifetime {ttl_secs}s exceeds the maximum {max}s")]
    TtlTooLong {
        /// Requested or observed lifetime.
        ttl_secs: u64,
        /// The limit.
        max: u64,
    },
    /// A grant (or a key inside it) that the calling SDK needs is absent. Code 20106 (invalid grants).
    #[error("access token lacks {grant}")]
    MissingGrant {
        /// The missing grant path, e.g. `"grants.task_router.worker_sid"`.
        grant: &'static str,
    },
    /// `grants.identity` is missing or empty. Code 20106 (invalid grants). Also returned by
    /// [`AccessToken::to_jwt`], as twilio-node refuses to mint without an identity.
    #[error("access token has no identity")]
    MissingIdentity,
}

impl TokenError {
    /// The Twilio error code for this failure, as a real Twilio endpoint would report it:
    ///
    /// | code | meaning (Twilio docs) | variants |
    /// |---|---|---|
    /// | 20101 | Invalid Access Token | `TooLong`, `WrongSegmentCount`, `InvalidBase64`, `InvalidJson` |
    /// | 20102 | Invalid Access Token header | `InvalidHeader` |
    /// | 20103 | Invalid Access Token issuer/subject | `InvalidIssuer`, `InvalidSubject`, `AccountMismatch` |
    /// | 20104 | Access Token expired or expiration date invalid | `Expired`, `ExpiryBeforeIssue` |
    /// | 20105 | Access Token not yet valid | `NotYetValid` |
    /// | 20106 | Invalid Access Token grants | `MissingIdentity`, `MissingGrant` |
    /// | 20107 | Invalid Access Token signature | `InvalidSignature` |
    /// | 20157 | Expiration Time exceeds maximum time allowed (24 h) | `TtlTooLong` |
    pub fn twilio_code(&self) -> u32 {
        match self {
            Self::TooLong { .. }
            | Self::WrongSegmentCount { .. }
            | Self::InvalidBase64(_)
            | Self::InvalidJson { .. } => 20101,
            Self::InvalidHeader { .. } => 20102,
            Self::InvalidIssuer(_) | Self::InvalidSubject(_) | Self::AccountMismatch => 20103,
            Self::Expired { .. } | Self::ExpiryBeforeIssue { .. } => 20104,
            Self::NotYetValid { .. } => 20105,
            Self::MissingIdentity | Self::MissingGrant { .. } => 20106,
            Self::InvalidSignature => 20107,
            Self::TtlTooLong { .. } => 20157,
        }
    }
}

/// The decoded JOSE header of an Access Token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Signing algorithm; Twilio requires `HS256`.
    pub alg: String,
    /// Token type; Twilio requires `JWT`.
    #[serde(default)]
    pub typ: Option<String>,
    /// Content type; Twilio requires [`CONTENT_TYPE`].
    #[serde(default)]
    pub cty: Option<String>,
    /// Twilio Region (`twr`), present only for non-US1 regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub twr: Option<String>,
}

impl Header {
    /// Checks `alg`, `typ` and `cty` against Twilio's requirements.
    pub fn check(&self) -> Result<(), TokenError> {
        if self.alg != "HS256" {
            return Err(TokenError::InvalidHeader { field: "alg" });
        }
        if self.typ.as_deref() != Some("JWT") {
            return Err(TokenError::InvalidHeader { field: "typ" });
        }
        if self.cty.as_deref() != Some(CONTENT_TYPE) {
            return Err(TokenError::InvalidHeader { field: "cty" });
        }
        Ok(())
    }
}

/// The `incoming` part of a voice grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceIncoming {
    /// Whether the identity may receive calls (`client:<identity>`).
    pub allow: bool,
}

/// The `outgoing` part of a voice grant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceOutgoing {
    /// TwiML application that outgoing calls run.
    pub application_sid: ApplicationSid,
    /// Parameters passed to the application, in the order given (serialized as a JSON object).
    /// Only string values are supported.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        with = "ordered_params"
    )]
    pub params: Vec<(String, String)>,
}

/// The `voice` grant (Voice SDK).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoiceGrant {
    /// Incoming calls; twilio-node emits it only as `{"allow":true}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incoming: Option<VoiceIncoming>,
    /// Outgoing calls via a TwiML application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outgoing: Option<VoiceOutgoing>,
    /// Push credential SID (`CR…`), for mobile push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_credential_sid: Option<String>,
    /// Endpoint id of this device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
}

impl VoiceGrant {
    /// A grant allowing incoming calls only.
    pub fn incoming() -> Self {
        Self {
            incoming: Some(VoiceIncoming { allow: true }),
            ..Self::default()
        }
    }

    /// Adds outgoing calls through `application_sid` with `params` (in order).
    pub fn with_outgoing(
        mut self,
        application_sid: ApplicationSid,
        params: Vec<(String, String)>,
    ) -> Self {
        self.outgoing = Some(VoiceOutgoing {
            application_sid,
            params,
        });
        self
    }

    /// Whether incoming calls are allowed (`incoming.allow == true`).
    pub fn allows_incoming(&self) -> bool {
        self.incoming.is_some_and(|i| i.allow)
    }
}

/// The `task_router` grant (TaskRouter SDK). Every key is optional on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRouterGrant {
    /// The workspace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace_sid: Option<WorkspaceSid>,
    /// The worker the token acts as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_sid: Option<WorkerSid>,
    /// Role, e.g. `"worker"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl TaskRouterGrant {
    /// A grant for `worker_sid` in `workspace_sid` with role `worker`.
    pub fn worker(workspace_sid: WorkspaceSid, worker_sid: WorkerSid) -> Self {
        Self {
            workspace_sid: Some(workspace_sid),
            worker_sid: Some(worker_sid),
            role: Some("worker".to_owned()),
        }
    }
}

/// The `data_sync` grant (Sync SDK).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGrant {
    /// The Sync service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_sid: Option<SyncServiceSid>,
    /// Endpoint id of this client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<String>,
}

/// The `grants` claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// `grants.identity`; [`verify`] requires it non-empty.
    #[serde(default)]
    pub identity: String,
    /// Voice grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<VoiceGrant>,
    /// TaskRouter grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_router: Option<TaskRouterGrant>,
    /// Sync grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_sync: Option<SyncGrant>,
}

/// The claim set of an Access Token (field order = twilio-node's emission order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// `"<iss>-<iat>"` when minted by twilio-node or this crate.
    pub jti: String,
    /// The grants.
    pub grants: Grants,
    /// Not-before, Unix seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued-at, Unix seconds.
    pub iat: u64,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issuer: the API key that signed the token (look the secret up by this).
    pub iss: ApiKeySid,
    /// Subject: the account.
    pub sub: AccountSid,
}

impl Claims {
    /// The TaskRouter grant's workspace and worker, as the TaskRouter SDK needs them (§2.1: taskrouter.js fails
    /// with "Missing one of: grants.task_router, iss, or sub").
    pub fn require_task_router(&self) -> Result<(WorkspaceSid, WorkerSid), TokenError> {
        let grant = self
            .grants
            .task_router
            .as_ref()
            .ok_or(TokenError::MissingGrant {
                grant: "grants.task_router",
            })?;
        let workspace = grant.workspace_sid.ok_or(TokenError::MissingGrant {
            grant: "grants.task_router.workspace_sid",
        })?;
        let worker = grant.worker_sid.ok_or(TokenError::MissingGrant {
            grant: "grants.task_router.worker_sid",
        })?;
        Ok((workspace, worker))
    }

    /// The voice grant, as the Voice SDK needs it.
    pub fn require_voice(&self) -> Result<&VoiceGrant, TokenError> {
        self.grants.voice.as_ref().ok_or(TokenError::MissingGrant {
            grant: "grants.voice",
        })
    }

    /// The Sync grant's service, as the Sync SDK needs it.
    pub fn require_sync(&self) -> Result<SyncServiceSid, TokenError> {
        self.grants
            .data_sync
            .as_ref()
            .ok_or(TokenError::MissingGrant {
                grant: "grants.data_sync",
            })?
            .service_sid
            .ok_or(TokenError::MissingGrant {
                grant: "grants.data_sync.service_sid",
            })
    }
}

/// Claims as they arrive, before `iss`/`sub` are validated (so those map to 20103, not 20101).
#[derive(Deserialize)]
struct RawClaims {
    #[serde(default)]
    jti: String,
    #[serde(default)]
    grants: Grants,
    #[serde(default)]
    nbf: Option<u64>,
    iat: u64,
    exp: u64,
    #[serde(default)]
    iss: String,
    #[serde(default)]
    sub: String,
}

/// An Access Token to mint. Build it with [`AccessToken::new`], set grants, then call [`AccessToken::to_jwt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// The account (`sub`).
    pub account_sid: AccountSid,
    /// The API key whose secret signs the token (`iss`).
    pub api_key_sid: ApiKeySid,
    /// `grants.identity`; must be non-empty.
    pub identity: String,
    /// Lifetime in seconds (`exp = iat + ttl_secs`); at most [`MAX_TTL_SECS`].
    pub ttl_secs: u64,
    /// Optional not-before, absolute Unix seconds.
    pub nbf: Option<u64>,
    /// Optional Twilio Region for the `twr` header (omit for US1).
    pub region: Option<String>,
    /// Voice grant.
    pub voice: Option<VoiceGrant>,
    /// TaskRouter grant.
    pub task_router: Option<TaskRouterGrant>,
    /// Sync grant.
    pub data_sync: Option<SyncGrant>,
}

impl AccessToken {
    /// A token for `identity` with the default 1 h lifetime and no grants besides the identity.
    pub fn new(
        account_sid: AccountSid,
        api_key_sid: ApiKeySid,
        identity: impl Into<String>,
    ) -> Self {
        Self {
            account_sid,
            api_key_sid,
            identity: identity.into(),
            ttl_secs: DEFAULT_TTL_SECS,
            nbf: None,
            region: None,
            voice: None,
            task_router: None,
            data_sync: None,
        }
    }

    /// The claims this token carries when issued at `now_unix`.
    pub fn claims(&self, now_unix: u64) -> Claims {
        Claims {
            jti: format!("{}-{now_unix}", self.api_key_sid),
            grants: Grants {
                identity: self.identity.clone(),
                voice: self.voice.clone(),
                task_router: self.task_router.clone(),
                data_sync: self.data_sync.clone(),
            },
            nbf: self.nbf,
            iat: now_unix,
            exp: now_unix.saturating_add(self.ttl_secs),
            iss: self.api_key_sid,
            sub: self.account_sid,
        }
    }

    /// Signs the token with the API key `secret` (UTF-8 bytes as the HMAC-SHA256 key), issued at `now_unix`.
    ///
    /// Errors: [`TokenError::MissingIdentity`] for an empty identity, [`TokenError::TtlTooLong`] above 24 h.
    pub fn to_jwt(&self, secret: &str, now_unix: u64) -> Result<String, TokenError> {
        if self.identity.is_empty() {
            return Err(TokenError::MissingIdentity);
        }
        if self.ttl_secs > MAX_TTL_SECS {
            return Err(TokenError::TtlTooLong {
                ttl_secs: self.ttl_secs,
                max: MAX_TTL_SECS,
            });
        }
        let header = Header {
            alg: "HS256".to_owned(),
            typ: Some("JWT".to_owned()),
            cty: Some(CONTENT_TYPE.to_owned()),
            twr: self.region.clone(),
        };
        // Invariant: these types contain only strings, integers and string maps, which always serialize.
        let header_json = serde_json::to_vec(&header).expect("header serializes");
        let claims_json = serde_json::to_vec(&self.claims(now_unix)).expect("claims serialize");
        let mut jwt = URL_SAFE_NO_PAD.encode(header_json);
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut jwt);
        let sig = hmac_sha256(secret.as_bytes(), jwt.as_bytes())
            .finalize()
            .into_bytes();
        jwt.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut jwt);
        Ok(jwt)
    }
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Hmac<Sha256> {
    // Invariant: HMAC accepts keys of any length, so `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg);
    mac
}

/// The three raw segments of a JWT, split and length-checked.
struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn split(jwt: &str) -> Result<Parts<'_>, TokenError> {
    if jwt.len() > MAX_TOKEN_LEN {
        return Err(TokenError::TooLong {
            len: jwt.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    let mut it = jwt.split('.');
    match (it.next(), it.next(), it.next(), it.next()) {
        (Some(header), Some(payload), Some(signature), None) => Ok(Parts {
            header,
            payload,
            signature,
        }),
        _ => Err(TokenError::WrongSegmentCount {
            found: jwt.split('.').count(),
        }),
    }
}

fn b64(segment: Segment, s: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| TokenError::InvalidBase64(segment))
}

fn decode_header(s: &str) -> Result<Header, TokenError> {
    serde_json::from_slice(&b64(Segment::Header, s)?).map_err(|source| TokenError::InvalidJson {
        segment: Segment::Header,
        source,
    })
}

fn decode_claims(s: &str) -> Result<Claims, TokenError> {
    let raw: RawClaims = serde_json::from_slice(&b64(Segment::Payload, s)?).map_err(|source| {
        TokenError::InvalidJson {
            segment: Segment::Payload,
            source,
        }
    })?;
    Ok(Claims {
        jti: raw.jti,
        grants: raw.grants,
        nbf: raw.nbf,
        iat: raw.iat,
        exp: raw.exp,
        iss: ApiKeySid::parse(&raw.iss).map_err(TokenError::InvalidIssuer)?,
        sub: AccountSid::parse(&raw.sub).map_err(TokenError::InvalidSubject)?,
    })
}

/// Decodes a token **without checking its signature or times**, e.g. to find the signing key by `claims.iss`
/// before calling [`verify`]. Never trust the result for anything else.
///
/// Checks only the structure: length, three segments, base64url, JSON, and that `iss`/`sub` are SIDs.
pub fn decode_unverified(jwt: &str) -> Result<(Header, Claims), TokenError> {
    let parts = split(jwt)?;
    let header = decode_header(parts.header)?;
    let claims = decode_claims(parts.payload)?;
    Ok((header, claims))
}

/// Verifies a token per backend-spec §2.3 and returns its claims.
///
/// In order: structure; header (`HS256`/`JWT`/`twilio-fpa;v=1`); HMAC-SHA256 with `secret`, compared in constant
/// time; `iss`/`sub` are SIDs and `sub == expected_account`; `exp > iat` and `exp - iat <= 24 h`;
/// `max(iat, nbf) <= now + leeway`; `now < exp + leeway`; `grants.identity` non-empty. Checking the grants a
/// given SDK needs is left to the caller.
pub fn verify(
    jwt: &str,
    secret: &str,
    expected_account: &AccountSid,
    now_unix: u64,
    leeway_secs: u64,
) -> Result<Claims, TokenError> {
    let parts = split(jwt)?;
    decode_header(parts.header)?.check()?;
    let sig = b64(Segment::Signature, parts.signature)?;
    let signed_len = parts.header.len() + 1 + parts.payload.len();
    // Both segments are sub-slices of `jwt` at its start, so this prefix is exactly `header "." payload`.
    let signed = jwt
        .get(..signed_len)
        .ok_or(TokenError::WrongSegmentCount { found: 0 })?;
    hmac_sha256(secret.as_bytes(), signed.as_bytes())
        .verify_slice(&sig)
        .map_err(|_| TokenError::InvalidSignature)?;
    let claims = decode_claims(parts.payload)?;
    if claims.sub != *expected_account {
        return Err(TokenError::AccountMismatch);
    }
    if claims.exp <= claims.iat {
        return Err(TokenError::ExpiryBeforeIssue {
            iat: claims.iat,
            exp: claims.exp,
        });
    }
    let ttl_secs = claims.exp - claims.iat;
    if ttl_secs > MAX_TTL_SECS {
        return Err(TokenError::TtlTooLong {
            ttl_secs,
            max: MAX_TTL_SECS,
        });
    }
    let valid_from = claims.iat.max(claims.nbf.unwrap_or(0));
    if now_unix.saturating_add(leeway_secs) < valid_from {
        return Err(TokenError::NotYetValid {
            valid_from,
            now: now_unix,
        });
    }
    if now_unix >= claims.exp.saturating_add(leeway_secs) {
        return Err(TokenError::Expired {
            exp: claims.exp,
            now: now_unix,
        });
    }
    if claims.grants.identity.is_empty() {
        return Err(TokenError::MissingIdentity);
    }
    Ok(claims)
}

/// Serializes `Vec<(String, String)>` as a JSON object in list order; deserializes string-valued objects.
mod ordered_params {
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(params: &[(String, String)], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(params.len()))?;
        for (k, v) in params {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<(String, String)>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, String>()? {
                    out.push(entry);
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}
