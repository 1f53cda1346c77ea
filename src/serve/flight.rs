//! Identical concurrent requests coalesce: the first one for a key runs the work, the others
//! wait for its result. Once done, the key is forgotten (results are cached below this, in
//! the resolution cache and the shared tier, not here).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

/// In-flight work by key.
#[derive(Debug)]
pub struct Flights<V> {
    running: Mutex<HashMap<String, Arc<OnceCell<V>>>>,
}

impl<V> Default for Flights<V> {
    fn default() -> Self {
        Flights {
            running: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Flights<V> {
    /// Runs `work` for `key`, or joins the run already under way. Returns the value and
    /// whether this call joined another's run.
    pub async fn run<F, Fut>(&self, key: &str, work: F) -> (V, bool)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let (cell, joined) = {
            let mut map = self.running.lock().expect("flights lock");
            match map.get(key) {
                Some(c) => (c.clone(), true),
                None => {
                    let c = Arc::new(OnceCell::new());
                    map.insert(key.to_string(), c.clone());
                    (c, false)
                }
            }
        };
        let v = cell.get_or_init(work).await.clone();
        let mut map = self.running.lock().expect("flights lock");
        if map.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            map.remove(key);
        }
        (v, joined)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn identical_concurrent_calls_run_the_work_once() {
        let flights = Arc::new(Flights::<usize>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let futs = (0..8).map(|_| {
            let flights = flights.clone();
            let runs = runs.clone();
            async move {
                flights
                    .run("k", || async move {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        runs.fetch_add(1, Ordering::SeqCst) + 100
                    })
                    .await
            }
        });
        let out = futures_util::future::join_all(futs).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(out.iter().all(|(v, _)| *v == 100));
        assert_eq!(out.iter().filter(|(_, joined)| *joined).count(), 7);
        // Forgotten once done: a later call runs again.
        let (v, joined) = flights.run("k", || async { 7 }).await;
        assert_eq!((v, joined), (7, false));
    }
}
