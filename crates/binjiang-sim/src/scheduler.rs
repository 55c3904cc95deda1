//! The discrete-event core: a binary heap of timed actions, ties broken by insertion order.
//!
//! Times are integer milliseconds so ordering is exact and runs are reproducible bit for bit.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Entry<A> {
    at_ms: u64,
    seq: u64,
    action: A,
}

impl<A> PartialEq for Entry<A> {
    fn eq(&self, other: &Self) -> bool {
        (self.at_ms, self.seq) == (other.at_ms, other.seq)
    }
}
impl<A> Eq for Entry<A> {}
impl<A> PartialOrd for Entry<A> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<A> Ord for Entry<A> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, we want the earliest first.
        (other.at_ms, other.seq).cmp(&(self.at_ms, self.seq))
    }
}

/// A queue of actions by time. Serialises as its entries (a restored queue pops them in the
/// same order: `(time, insertion number)` is a total order).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(bound(
    serialize = "A: serde::Serialize",
    deserialize = "A: serde::Deserialize<'de>"
))]
pub struct Scheduler<A> {
    heap: BinaryHeap<Entry<A>>,
    seq: u64,
}

impl<A> Default for Scheduler<A> {
    fn default() -> Self {
        Scheduler {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<A> Scheduler<A> {
    /// Schedules `action` at `at_ms`.
    pub fn push(&mut self, at_ms: u64, action: A) {
        self.seq += 1;
        self.heap.push(Entry {
            at_ms,
            seq: self.seq,
            action,
        });
    }

    /// Schedules `action` at `at_ms` as if it had been pushed as number `seq` (which
    /// [`Scheduler::make_room_after`] left free): ties at one time go by push order.
    pub fn push_as(&mut self, at_ms: u64, seq: u64, action: A) {
        debug_assert!(
            self.heap.iter().all(|e| e.seq != seq),
            "push number {seq} is taken"
        );
        self.heap.push(Entry { at_ms, seq, action });
    }

    /// Renumbers every action pushed after push number `after` as if `n` more had been
    /// pushed right after it, leaving numbers `after + 1 ..= after + n` free: the order a
    /// run would have had, had it scheduled those `n` at that point.
    pub fn make_room_after(&mut self, after: u64, n: u64) {
        let mut entries = std::mem::take(&mut self.heap).into_vec();
        for e in &mut entries {
            if e.seq > after {
                e.seq += n;
            }
        }
        self.heap = BinaryHeap::from(entries);
        self.seq += n;
    }

    /// How many actions have been pushed (the number of the last).
    pub fn pushed(&self) -> u64 {
        self.seq
    }

    /// Every pending action with its time, in no order.
    pub fn pending(&self) -> impl Iterator<Item = (u64, &A)> {
        self.heap.iter().map(|e| (e.at_ms, &e.action))
    }

    /// Time of the next action.
    pub fn peek_time(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.at_ms)
    }

    /// Takes the next action if it is due by `until_ms`.
    pub fn pop_due(&mut self, until_ms: u64) -> Option<(u64, A)> {
        if self.peek_time()? > until_ms {
            return None;
        }
        self.heap.pop().map(|e| (e.at_ms, e.action))
    }

    /// Number of pending actions.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

impl<A> std::fmt::Debug for Scheduler<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("pending", &self.heap.len())
            .finish()
    }
}

/// Seconds to milliseconds, rounded.
pub fn ms(seconds: f64) -> u64 {
    (seconds.max(0.0) * 1000.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_fifo() {
        let mut s = Scheduler::default();
        s.push(30, 'c');
        s.push(10, 'a');
        s.push(10, 'b');
        assert_eq!(s.pop_due(5), None);
        assert_eq!(s.pop_due(100), Some((10, 'a')));
        assert_eq!(s.pop_due(100), Some((10, 'b')));
        assert_eq!(s.pop_due(100), Some((30, 'c')));
        assert!(s.is_empty());
    }
}
