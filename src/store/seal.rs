//! Quarantined mail is kept sealed (ChaCha20-Poly1305): it is the one place a
//! message is kept as it came, before masking, and a retry needs it so. The
//! key is `quarantine.key` in the store directory (0600), outside sled's
//! files: the store's files and its backups never hold such a message in the
//! clear. A backup restored without the key shows the masked text but cannot
//! retry the message.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use super::StoreError;

pub const KEY_FILE: &str = "quarantine.key";

pub(super) struct Sealer {
    path: PathBuf,
    key: Mutex<Option<LessSafeKey>>,
}

fn broken(path: &Path, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Seal {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

impl Sealer {
    pub(super) fn new(dir: &Path) -> Sealer {
        Sealer {
            path: dir.join(KEY_FILE),
            key: Mutex::new(None),
        }
    }

    /// The key, made on first use when `create`; `None` when there is none.
    fn with_key<T>(
        &self,
        create: bool,
        use_key: impl FnOnce(&LessSafeKey) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let mut key = self.key.lock().unwrap_or_else(|e| e.into_inner());
        if key.is_none() {
            let bytes = match std::fs::read(&self.path) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => self.create()?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(broken(&self.path, e)),
            };
            let unbound = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
                .map_err(|_| broken(&self.path, "not a 32-byte key"))?;
            *key = Some(LessSafeKey::new(unbound));
        }
        match key.as_ref() {
            Some(k) => use_key(k).map(Some),
            None => Ok(None),
        }
    }

    fn create(&self) -> Result<Vec<u8>, StoreError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut bytes = vec![0u8; CHACHA20_POLY1305.key_len()];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| broken(&self.path, "no random bytes from the system"))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| broken(&self.path, e))?;
        file.write_all(&bytes)
            .and_then(|_| file.sync_all())
            .map_err(|e| broken(&self.path, e))?;
        Ok(bytes)
    }

    /// Nonce, then ciphertext and tag.
    pub(super) fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, StoreError> {
        let sealed = self.with_key(true, |key| {
            let mut nonce = [0u8; NONCE_LEN];
            SystemRandom::new()
                .fill(&mut nonce)
                .map_err(|_| broken(&self.path, "no random bytes from the system"))?;
            let mut data = plain.to_vec();
            key.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut data,
            )
            .map_err(|_| broken(&self.path, "sealing failed"))?;
            let mut out = nonce.to_vec();
            out.extend_from_slice(&data);
            Ok(out)
        })?;
        sealed.ok_or_else(|| broken(&self.path, "no key"))
    }

    /// `None` when the key is not here (e.g. a backup restored elsewhere).
    pub(super) fn open(&self, sealed: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.with_key(false, |key| {
            if sealed.len() < NONCE_LEN {
                return Err(broken(&self.path, "a sealed message is cut short"));
            }
            let (nonce, data) = sealed.split_at(NONCE_LEN);
            let nonce = Nonce::try_assume_unique_for_key(nonce)
                .map_err(|_| broken(&self.path, "bad nonce"))?;
            let mut data = data.to_vec();
            let plain = key
                .open_in_place(nonce, Aad::empty(), &mut data)
                .map_err(|_| {
                    broken(
                        &self.path,
                        "a sealed message does not open with this key (another store's key?)",
                    )
                })?;
            Ok(plain.to_vec())
        })
    }
}
