//! Outgoing webhooks: form POSTs signed with `X-Twilio-Signature` (HMAC-SHA1 keyed with the account's Auth Token
//! over the URL plus the sorted parameters, backend-spec §3.1, computed by `tsunagi_twilio::signature`), retried
//! by the shell on failure.

use std::time::Duration;

/// Largest webhook reply read, in bytes.
pub const MAX_REPLY: usize = 64 * 1024;

/// Computes `X-Twilio-Signature` for a form POST (delegates to `tsunagi_twilio::signature`).
pub fn sign(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    tsunagi_twilio::signature::compute(auth_token, url, params)
}

/// POSTs the form; `Ok(body)` on 2xx, `Err(reason)` otherwise.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> Result<String, String> {
    let resp = client
        .post(url)
        .header("X-Twilio-Signature", signature)
        .header("User-Agent", "TwilioProxy/1.1 (tsunagi-twilio-sim)")
        .header("I-Twilio-Idempotency-Token", signature)
        .form(params)
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("reading reply failed: {e}"))?;
    if !status.is_success() {
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let body = &body[..body.len().min(MAX_REPLY)];
    Ok(String::from_utf8_lossy(body).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_spec_vector_1() {
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            sign(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }

    #[test]
    fn backend_spec_vector_5_multibyte() {
        let params = vec![
            ("CallSid".to_string(), "CA1".to_string()),
            ("CallerName".to_string(), "田中 太郎".to_string()),
        ];
        assert_eq!(
            sign("12345", "https://example.jp/voice", &params),
            "56zufpO12YUVoFcQGJ+nIhB8vWA="
        );
    }
}
