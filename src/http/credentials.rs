//! The app's credentials, and the verification of the JWTs signed with its
//! secret (the extractors that use it are in `auth`).

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;

use crate::core::error::{Code, Error};
use crate::core::time::Timestamp;
use crate::core::Actor;

/// Clock skew tolerated for `exp`, `nbf` and `iat`.
const LEEWAY_SECONDS: u64 = 5;

pub struct Credentials {
    pub api_key: String,
    key: DecodingKey,
    signing_key: EncodingKey,
    validation: Validation,
}

impl Credentials {
    pub fn new(api_key: String, api_secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        validation.leeway = LEEWAY_SECONDS;
        Credentials {
            api_key,
            key: DecodingKey::from_secret(api_secret.as_bytes()),
            signing_key: EncodingKey::from_secret(api_secret.as_bytes()),
            validation,
        }
    }

    /// A user token for `user_id`, signed with the app secret as Stream's
    /// server SDKs sign one (HS256, `user_id`, `iat` a second in the past so
    /// a clock a little behind still accepts it; no expiry): CreateGuest's
    /// `access_token`.
    pub fn sign_user_token(&self, user_id: &str) -> Result<String, Error> {
        let iat = Timestamp::now().0 / 1_000_000_000 - 1;
        let claims = serde_json::json!({ "user_id": user_id, "iat": iat });
        encode(&Header::new(Algorithm::HS256), &claims, &self.signing_key).map_err(Error::internal)
    }

    pub fn verify(&self, token: &str) -> Result<Actor, Error> {
        #[derive(Deserialize)]
        struct Claims {
            #[serde(default)]
            user_id: Option<serde_json::Value>,
            #[serde(default)]
            iat: Option<serde_json::Value>,
        }
        let data = decode::<Claims>(token, &self.key, &self.validation).map_err(|e| {
            let (code, what) = match e.kind() {
                ErrorKind::ExpiredSignature => (Code::TokenExpired, "token is expired"),
                ErrorKind::ImmatureSignature => (Code::TokenNotValidYet, "token is not valid yet"),
                ErrorKind::InvalidSignature => (Code::TokenSignatureInvalid, "token signature is invalid"),
                ErrorKind::InvalidAlgorithm => (Code::AuthFailed, "token must be signed with HS256"),
                _ => (Code::AuthFailed, "token is malformed"),
            };
            Error::new(
                code,
                format!("{what}: check the token (the Authorization header, or the WebSocket's auth message)"),
            )
        })?;
        if let Some(iat) = data.claims.iat.as_ref().and_then(serde_json::Value::as_f64) {
            let now = Timestamp::now().0 as f64 / 1e9;
            if iat > now + LEEWAY_SECONDS as f64 {
                return Err(Error::new(Code::TokenUsedBeforeIssued, "token was issued in the future (iat)"));
            }
        }
        match data.claims.user_id {
            None | Some(serde_json::Value::Null) => Ok(Actor::Server),
            Some(serde_json::Value::String(id)) if !id.is_empty() => Ok(Actor::User(id)),
            Some(_) => Err(Error::new(Code::AuthFailed, "token user_id must be a non-empty string")),
        }
    }
}
