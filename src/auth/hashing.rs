//! The gate in front of password hashing. Every Argon2 computation takes 19 MiB; without a
//! bound, a burst of logins ran one per blocking thread and the allocator kept all of it
//! (7 GB after 15 s of 32 connections). Here at most `concurrency` computations run at once,
//! each on a dedicated thread that reuses its memory while work keeps coming and frees it
//! when idle; callers wait for a turn at most `wait`, then get `Busy`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use argon2::Block;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::password;

/// A worker idle this long gives its memory back.
const IDLE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashingError {
    /// No turn came within the configured wait.
    #[error("password hashing is saturated; retry after {retry_after_secs} s")]
    Busy { retry_after_secs: u64 },
    /// The computation panicked (a bug); its worker lives on.
    #[error("password hashing failed")]
    Failed,
}

type Job = Box<dyn FnOnce(&mut [Block]) + Send>;

/// Cheap to clone; the workers stop when the last clone and the last `Turn` are dropped.
#[derive(Clone)]
pub struct PasswordHashing {
    turns: Arc<Semaphore>,
    wait: Duration,
    jobs: flume::Sender<Job>,
}

/// One turn at hashing: while it is held, one worker is reserved for its holder.
pub struct Turn {
    permit: OwnedSemaphorePermit,
    jobs: flume::Sender<Job>,
}

impl PasswordHashing {
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        let concurrency = concurrency.max(1);
        return_freed_memory_to_the_os();
        let (jobs, queue) = flume::unbounded::<Job>();
        for i in 0..concurrency {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || work(&queue))
                .expect("a thread for password hashing");
        }
        Self {
            turns: Arc::new(Semaphore::new(concurrency)),
            wait,
            jobs,
        }
    }

    /// Waits at most the configured time for a free worker.
    pub async fn turn(&self) -> Result<Turn, HashingError> {
        let permit = if self.wait.is_zero() {
            self.turns.clone().try_acquire_owned().ok()
        } else {
            tokio::time::timeout(self.wait, self.turns.clone().acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
        };
        let permit = permit.ok_or(HashingError::Busy {
            retry_after_secs: retry_after_secs(self.wait),
        })?;
        Ok(Turn {
            permit,
            jobs: self.jobs.clone(),
        })
    }

    pub async fn hash(&self, password: String) -> Result<String, HashingError> {
        self.turn().await?.hash(password).await
    }

    /// Checks `password` against `stored`, or, when there is no account, spends the same time
    /// and answers no.
    pub async fn verify(
        &self,
        stored: Option<String>,
        password: String,
    ) -> Result<bool, HashingError> {
        self.turn().await?.verify(stored, password).await
    }
}

impl Turn {
    pub async fn hash(self, password: String) -> Result<String, HashingError> {
        self.run(move |m| password::hash(m, &password)).await
    }

    pub async fn verify(
        self,
        stored: Option<String>,
        password: String,
    ) -> Result<bool, HashingError> {
        self.run(move |m| match stored {
            Some(h) => password::verify(m, &h, &password),
            None => {
                password::verify_dummy(m, &password);
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        self,
        f: impl FnOnce(&mut [Block]) -> T + Send + 'static,
    ) -> Result<T, HashingError> {
        let (tx, rx) = oneshot::channel();
        let permit = self.permit;
        let job: Job = Box::new(move |memory| {
            let result = f(memory);
            // Freed before the caller hears back, so that its next request finds the turn free.
            drop(permit);
            let _ = tx.send(result);
        });
        self.jobs.send(job).map_err(|_| HashingError::Failed)?;
        rx.await.map_err(|_| HashingError::Failed)
    }
}

/// A caller turned away waited `wait` in a queue at least that long: the wait in whole
/// seconds, at least one.
fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

fn work(queue: &flume::Receiver<Job>) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        // With nothing to give back, sleep until there is work.
        let next = if memory.is_empty() {
            queue
                .recv()
                .map_err(|_| flume::RecvTimeoutError::Disconnected)
        } else {
            queue.recv_timeout(IDLE)
        };
        match next {
            Ok(job) => {
                if memory.is_empty() {
                    memory = password::memory();
                }
                if catch_unwind(AssertUnwindSafe(|| job(&mut memory))).is_err() {
                    tracing::error!("a password hash computation panicked");
                }
            }
            Err(flume::RecvTimeoutError::Timeout) => memory = Vec::new(),
            Err(flume::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// glibc raises its mmap threshold to the size of the first large block freed (up to 32 MiB),
/// so from then on every 19 MiB buffer came from an arena and stayed there after `free`
/// (bench/RESULTS.md: 60 MB instead of 20 MB at rest after a second round of logins). A fixed
/// threshold keeps every block of 1 MiB or more in its own mapping, unmapped when freed.
fn return_freed_memory_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only changes allocator tuning; M_MMAP_THRESHOLD takes a size.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 1024 * 1024);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

    use super::*;

    #[tokio::test]
    async fn no_turn_within_the_wait_is_busy_and_a_freed_turn_serves_the_next() {
        let gate = PasswordHashing::new(1, Duration::from_millis(50));
        let held = gate.turn().await.unwrap();
        assert_eq!(
            gate.turn().await.err(),
            Some(HashingError::Busy {
                retry_after_secs: 1
            })
        );
        let waiting = tokio::spawn({
            let gate = PasswordHashing {
                wait: Duration::from_secs(30),
                ..gate.clone()
            };
            async move { gate.hash("a password".into()).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        drop(held);
        let h = waiting.await.unwrap().unwrap();
        assert!(
            gate.verify(Some(h.clone()), "a password".into())
                .await
                .unwrap()
        );
        assert!(!gate.verify(Some(h), "another".into()).await.unwrap());
        assert!(!gate.verify(None, "a password".into()).await.unwrap());
    }

    #[tokio::test]
    async fn a_zero_wait_never_waits() {
        let gate = PasswordHashing::new(2, Duration::ZERO);
        let _a = gate.turn().await.unwrap();
        let _b = gate.turn().await.unwrap();
        assert_eq!(
            gate.turn().await.err(),
            Some(HashingError::Busy {
                retry_after_secs: 1
            })
        );
    }

    #[test]
    fn retry_after_is_the_wait_rounded_up_to_seconds() {
        let ms = Duration::from_millis;
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
        assert_eq!(retry_after_secs(ms(1)), 1);
        assert_eq!(retry_after_secs(ms(1000)), 1);
        assert_eq!(retry_after_secs(ms(1001)), 2);
        assert_eq!(retry_after_secs(ms(2500)), 3);
    }

    /// Eight jobs on two turns: never more than two computations at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_concurrency_computations_run_at_once() {
        let gate = PasswordHashing::new(2, Duration::from_secs(60));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (gate, running, most) = (gate.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    let turn = gate.turn().await.unwrap();
                    turn.run(move |_| {
                        let now = running.fetch_add(1, SeqCst) + 1;
                        most.fetch_max(now, SeqCst);
                        std::thread::sleep(Duration::from_millis(10));
                        running.fetch_sub(1, SeqCst);
                    })
                    .await
                    .unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert!((1..=2).contains(&most.load(SeqCst)), "{most:?}");
    }

    /// Two turns are two workers: two jobs that each wait for the other both finish.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_turn_has_a_worker_of_its_own() {
        let gate = PasswordHashing::new(2, Duration::from_secs(60));
        let inside = Arc::new(AtomicUsize::new(0));
        let meet = |inside: Arc<AtomicUsize>| {
            move |_: &mut [Block]| {
                inside.fetch_add(1, SeqCst);
                let deadline = std::time::Instant::now() + Duration::from_secs(20);
                while inside.load(SeqCst) < 2 && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(1));
                }
                inside.load(SeqCst)
            }
        };
        let (a, b) = (gate.turn().await.unwrap(), gate.turn().await.unwrap());
        let (a, b) = tokio::join!(a.run(meet(inside.clone())), b.run(meet(inside.clone())));
        assert_eq!((a.unwrap(), b.unwrap()), (2, 2));
    }

    #[tokio::test]
    async fn a_panicking_computation_fails_and_the_worker_survives() {
        let gate = PasswordHashing::new(1, Duration::from_secs(60));
        let r = gate.turn().await.unwrap().run(|_| panic!("boom")).await;
        assert_eq!(r.err(), Some(HashingError::Failed));
        let h = gate.hash("still works".into()).await.unwrap();
        assert!(gate.verify(Some(h), "still works".into()).await.unwrap());
    }
}
