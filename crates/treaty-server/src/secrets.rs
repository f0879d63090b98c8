//! Webhook passwords and signing secrets are stored sealed (AES-256-GCM),
//! and opened only to send a delivery.
//!
//! The key is `--secret-key` when given (keep it outside the database, in
//! the replicas' configuration); otherwise a random key is created once and
//! kept in the database's settings, which still keeps secrets out of logs
//! and API answers, but not from someone who reads the database (or an
//! export of it, which carries the key as the database does).

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use treaty_domain::webhooks::WebhookDefinition;
use treaty_store::{Store, StoreResult};

const PREFIX: &str = "sealed:v1:";
/// The setting that keeps the key generated when none is configured.
pub const GENERATED_KEY_SETTING: &str = "webhook_secret_key";

/// The server's secret: the configured key, or the database's own, created
/// once. It seals webhook secrets and keys the audit chain.
pub async fn server_secret(store: &dyn Store, configured: Option<&str>) -> StoreResult<String> {
    if let Some(key) = configured {
        return Ok(key.to_owned());
    }
    let fresh = STANDARD.encode(Aes256Gcm::generate_key(OsRng));
    store.setting_or_insert(GENERATED_KEY_SETTING, &fresh).await
}

#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl Sealer {
    /// A sealer whose key is derived from any text (SHA-256).
    pub fn from_passphrase(passphrase: &str) -> Self {
        let digest: [u8; 32] = Sha256::digest(passphrase.as_bytes()).into();
        Self {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(digest)),
        }
    }

    /// The configured key, or the database's own, created once.
    pub async fn for_store(store: &dyn Store, configured: Option<&str>) -> StoreResult<Self> {
        Ok(Self::from_passphrase(
            &server_secret(store, configured).await?,
        ))
    }

    /// Whether a stored value is sealed (rather than plain, as before sealing).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
    }

    /// Names the key a passphrase derives without revealing it (an export
    /// carries it): a hash of the derived key, never the key.
    pub fn fingerprint(passphrase: &str) -> String {
        let key = Sha256::digest(passphrase.as_bytes());
        let mut hasher = Sha256::new();
        hasher.update(b"treaty secret key fingerprint\n");
        hasher.update(key);
        hasher.finalize()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub fn seal(&self, plain: &str) -> String {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        // Encryption with a fresh nonce cannot fail for inputs of this size.
        let sealed = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        format!("{PREFIX}{}", STANDARD.encode(bytes))
    }

    /// The plain text; `None` when it was sealed with another key.
    pub fn open(&self, stored: &str) -> Option<String> {
        let Some(encoded) = stored.strip_prefix(PREFIX) else {
            return Some(stored.to_owned());
        };
        let bytes = STANDARD.decode(encoded).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        let plain = self.cipher.decrypt(&Nonce::from(nonce), sealed).ok()?;
        String::from_utf8(plain).ok()
    }

    pub fn seal_webhook(&self, mut webhook: WebhookDefinition) -> WebhookDefinition {
        webhook.request.password = webhook.request.password.map(|p| self.seal(&p));
        webhook.request.secret = webhook.request.secret.map(|s| self.seal(&s));
        webhook
    }

    /// The webhook ready to send; a secret sealed with another key is dropped
    /// (and the delivery goes unsigned or unauthenticated, and says so in its logs).
    pub fn open_webhook(&self, mut webhook: WebhookDefinition) -> WebhookDefinition {
        webhook.request.password = webhook.request.password.and_then(|p| self.open(&p));
        webhook.request.secret = webhook.request.secret.and_then(|s| self.open(&s));
        webhook
    }
}

#[cfg(test)]
mod tests {
    use super::Sealer;

    #[test]
    fn sealed_text_opens_with_the_same_key_only() {
        let sealer = Sealer::from_passphrase("key one");
        let sealed = sealer.seal("hunter2");
        assert!(sealed.starts_with("sealed:v1:") && !sealed.contains("hunter2"));
        assert_ne!(sealed, sealer.seal("hunter2"), "a fresh nonce each time");
        assert_eq!(sealer.open(&sealed).as_deref(), Some("hunter2"));
        assert_eq!(Sealer::from_passphrase("key two").open(&sealed), None);
        assert_eq!(sealer.open("plain").as_deref(), Some("plain"));
    }
}
