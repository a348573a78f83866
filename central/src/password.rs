//! Ops login password checks on a few threads of their own with a bounded queue.
//! Argon2 costs 19 MiB and tens of milliseconds a try: a flood of logins may keep at
//! most `workers` cores busy and never takes the threads that serve terminals; what does
//! not fit in the queue is refused at once. Unknown users are checked against a decoy
//! hash, so a wrong user name costs (and takes) as long as a wrong password.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};

/// Why a password could not be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error("every login worker is busy and the queue is full")]
    Busy,
    #[error("the login workers have stopped")]
    Stopped,
}

struct Job {
    stored_hash: Option<String>,
    password: String,
    reply: tokio::sync::oneshot::Sender<bool>,
}

/// The pool: `verify` queues a check and waits for its answer.
pub struct PasswordChecker {
    jobs: SyncSender<Job>,
}

impl std::fmt::Debug for PasswordChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordChecker")
    }
}

/// Argon2id hash of `password` in PHC string form, with the parameters every stored
/// hash is made with.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
    Ok(argon2::Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

impl PasswordChecker {
    /// Starts `workers` threads taking checks from a queue of `queue` places. The threads
    /// end when the checker is dropped.
    pub fn start(workers: usize, queue: usize) -> Self {
        let (jobs, inbox) = std::sync::mpsc::sync_channel::<Job>(queue);
        let inbox = Arc::new(Mutex::new(inbox));
        let decoy = Arc::new(OnceLock::new());
        for n in 0..workers.max(1) {
            let (inbox, decoy) = (inbox.clone(), decoy.clone());
            let spawned =
                std::thread::Builder::new().name(format!("ops-login-{n}")).spawn(move || work(&inbox, &decoy));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start an ops login worker thread; logins will be refused");
            }
        }
        Self { jobs }
    }

    /// Whether `password` matches `stored_hash` (a PHC string); `None` (no such user)
    /// takes the same work and answers false.
    pub async fn verify(&self, stored_hash: Option<String>, password: String) -> Result<bool, CheckError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        match self.jobs.try_send(Job { stored_hash, password, reply }) {
            Ok(()) => answer.await.map_err(|_| CheckError::Stopped),
            Err(TrySendError::Full(_)) => Err(CheckError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(CheckError::Stopped),
        }
    }
}

fn work(inbox: &Mutex<Receiver<Job>>, decoy: &OnceLock<Option<String>>) {
    // Made before the first check, so the first unknown user costs no more than the rest.
    let decoy = decoy.get_or_init(|| {
        hash_password(&hex::encode(rand::random::<[u8; 16]>()))
            .map_err(|e| tracing::error!(error = %e, "cannot make the decoy password hash"))
            .ok()
    });
    loop {
        // The lock is held only while waiting for the next job, never during Argon2.
        let job = match inbox.lock() {
            Ok(inbox) => inbox.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let matched = match (job.stored_hash.as_deref().map(PasswordHash::new), decoy) {
            (Some(Ok(stored)), _) => {
                argon2::Argon2::default().verify_password(job.password.as_bytes(), &stored).is_ok()
            }
            (None | Some(Err(_)), Some(decoy)) => {
                // Same work as a real check; the decoy's password is random, so never a match.
                let _ = PasswordHash::new(decoy)
                    .map(|d| argon2::Argon2::default().verify_password(job.password.as_bytes(), &d));
                false
            }
            (None | Some(Err(_)), None) => false,
        };
        let _ = job.reply.send(matched);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_right_password_matches_and_wrong_or_unknown_ones_do_not() {
        let checker = PasswordChecker::start(1, 4);
        let stored = hash_password("correct horse").unwrap();
        assert_eq!(checker.verify(Some(stored.clone()), "correct horse".into()).await, Ok(true));
        assert_eq!(checker.verify(Some(stored), "wrong".into()).await, Ok(false));
        assert_eq!(checker.verify(None, "correct horse".into()).await, Ok(false));
        assert_eq!(checker.verify(Some("not a hash".into()), "x".into()).await, Ok(false));
    }

    #[tokio::test]
    async fn checks_beyond_the_queue_are_refused_at_once() {
        let checker = Arc::new(PasswordChecker::start(1, 1));
        let stored = hash_password("pw").unwrap();
        let tries: Vec<_> = (0..8)
            .map(|_| {
                let (c, s) = (checker.clone(), stored.clone());
                tokio::spawn(async move { c.verify(Some(s), "nope".into()).await })
            })
            .collect();
        let mut busy = 0;
        for t in tries {
            if t.await.unwrap() == Err(CheckError::Busy) {
                busy += 1;
            }
        }
        // One running and one queued at most; the rest were refused without waiting.
        assert!(busy >= 6, "{busy} of 8 refused");
    }
}
