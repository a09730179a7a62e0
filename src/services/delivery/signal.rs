//! Wakes the live streams of this process when someone has something new in their inbox. The
//! relay of this process signals directly; on PostgreSQL, a listener signals for the events
//! other instances hand over (`LISTEN huying_inbox`). A signal carries only the user's id: the
//! stream reads what is new from the inbox, so a missed or doubled signal loses nothing.

use tokio::sync::broadcast;
use uuid::Uuid;

#[derive(Clone)]
pub struct InboxSignal {
    tx: broadcast::Sender<Uuid>,
}

impl Default for InboxSignal {
    fn default() -> Self {
        // A stream that falls this far behind re-reads its inbox (`Lagged`), losing nothing.
        let (tx, _) = broadcast::channel(4096);
        Self { tx }
    }
}

impl InboxSignal {
    pub fn told(&self, users: &[Uuid]) {
        for u in users {
            // No receiver: nobody is streaming, which is fine.
            let _ = self.tx.send(*u);
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Uuid> {
        self.tx.subscribe()
    }
}
