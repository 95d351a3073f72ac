//! The reservation queue rule, as pure functions over the live reservations (no I/O), so that it can be tested
//! exhaustively.
//!
//! A request is blocked by any active reservation of another user that overlaps it (same node, ancestor or
//! descendant), and by any waiting request of another user that overlaps it and is ahead of it in the queue:
//! higher priority, or the same priority and requested earlier.

use super::path::NodePath;

/// The facts of one live reservation the rule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Reservation id.
    pub id: String,
    /// Holder or requester.
    pub user: String,
    /// Node path.
    pub path: NodePath,
    /// `true` when active (granted), `false` when waiting.
    pub active: bool,
    /// Queue priority.
    pub priority: i64,
    /// Request order.
    pub seq: i64,
}

/// Whether `a` is served before `b`.
pub fn ahead(a: &Entry, b: &Entry) -> bool {
    (a.priority, -a.seq) > (b.priority, -b.seq)
}

/// The entries that block `req` (which need not be in `live`).
pub fn blockers<'a>(live: &'a [Entry], req: &'a Entry) -> impl Iterator<Item = &'a Entry> + 'a {
    live.iter().filter(move |e| {
        e.id != req.id && e.user != req.user && e.path.overlaps(&req.path) && (e.active || ahead(e, req))
    })
}

/// Position of a waiting request in the queue for its node (1 = next).
pub fn position(live: &[Entry], req: &Entry) -> usize {
    live.iter()
        .filter(|e| !e.active && e.id != req.id && ahead(e, req) && e.path.overlaps(&req.path))
        .count()
        + 1
}

/// The waiting requests to grant now, in queue order. Granting them all at once is consistent: none of them
/// blocks another (the rule is applied in queue order, counting earlier grants as active).
pub fn grants(live: &[Entry]) -> Vec<String> {
    let mut waiting: Vec<&Entry> = live.iter().filter(|e| !e.active).collect();
    waiting.sort_by(|a, b| (b.priority, a.seq).cmp(&(a.priority, b.seq)));
    let mut holders: Vec<&Entry> = live.iter().filter(|e| e.active).collect();
    let mut still_waiting: Vec<&Entry> = Vec::new();
    let mut out = Vec::new();
    for w in waiting {
        let blocked = holders
            .iter()
            .chain(still_waiting.iter())
            .any(|e| e.user != w.user && e.path.overlaps(&w.path));
        if blocked {
            still_waiting.push(w);
        } else {
            out.push(w.id.clone());
            holders.push(w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(id: usize, user: usize, path: &str, active: bool, priority: i64) -> Entry {
        Entry {
            id: format!("r{id}"),
            user: format!("u{user}"),
            path: NodePath::parse(path).expect("valid"),
            active,
            priority,
            seq: id as i64,
        }
    }

    #[test]
    fn tree_conflicts() {
        let live = vec![entry(1, 1, "/tb1/dev1", true, 0)];
        for (p, blocked) in [
            ("/tb1", true),
            ("/tb1/dev1", true),
            ("/tb1/dev1/m", true),
            ("/tb1/dev2", false),
            ("/tb10", false),
        ] {
            let req = entry(9, 2, p, false, 0);
            assert_eq!(blockers(&live, &req).count() > 0, blocked, "{p}");
            let own = entry(9, 1, p, false, 0);
            assert_eq!(
                blockers(&live, &own).count(),
                0,
                "own reservations never block: {p}"
            );
        }
    }

    #[test]
    fn queue_is_priority_then_age() {
        let live = vec![
            entry(1, 1, "/tb1", true, 0),
            entry(2, 2, "/tb1", false, 0),
            entry(3, 3, "/tb1", false, 5),
            entry(4, 4, "/tb1", false, 5),
        ];
        assert_eq!(position(&live, &live[2]), 1);
        assert_eq!(position(&live, &live[3]), 2);
        assert_eq!(position(&live, &live[1]), 3);
        assert!(grants(&live).is_empty(), "held: nobody is served");
        let freed: Vec<Entry> = live[1..].to_vec();
        assert_eq!(grants(&freed), vec!["r3"]);
    }

    #[test]
    fn a_big_request_is_not_starved_by_small_ones() {
        // u2 waits for the whole testbed; u3 asks for a free device later, with equal priority: u3 must wait.
        let live = vec![entry(1, 1, "/tb1/dev1", true, 0), entry(2, 2, "/tb1", false, 0)];
        let late = entry(3, 3, "/tb1/dev2", false, 0);
        assert_eq!(
            blockers(&live, &late).map(|e| e.id.as_str()).collect::<Vec<_>>(),
            vec!["r2"]
        );
    }

    fn arb_entries() -> impl Strategy<Value = Vec<Entry>> {
        let paths = prop::sample::select(vec!["/a", "/a/x", "/a/x/1", "/a/y", "/b", "/b/z"]);
        prop::collection::vec((0usize..4, paths, any::<bool>(), -1i64..2), 0..14).prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (u, p, a, prio))| entry(i, u, p, a, prio))
                .collect()
        })
    }

    /// Live sets the engine can reach: active reservations never overlap across users.
    fn consistent(entries: Vec<Entry>) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for mut e in entries {
            if e.active
                && out
                    .iter()
                    .any(|o| o.active && o.user != e.user && o.path.overlaps(&e.path))
            {
                e.active = false;
            }
            out.push(e);
        }
        out
    }

    proptest! {
        #[test]
        fn grants_never_create_two_holders(entries in arb_entries()) {
            let live = consistent(entries);
            let granted = grants(&live);
            let mut after = live.clone();
            for e in after.iter_mut() {
                if granted.contains(&e.id) {
                    e.active = true;
                }
            }
            let active: Vec<&Entry> = after.iter().filter(|e| e.active).collect();
            for a in &active {
                for b in &active {
                    prop_assert!(a.user == b.user || !a.path.overlaps(&b.path), "{a:?} and {b:?}");
                }
            }
        }

        #[test]
        fn a_waiting_request_is_served_exactly_when_nothing_blocks_it(entries in arb_entries()) {
            let live = consistent(entries);
            let granted = grants(&live);
            // Re-derive: after the grants, every still-waiting request has a blocker, and every granted one had
            // none among the holders and the requests ahead of it that stayed waiting.
            let mut after = live.clone();
            for e in after.iter_mut() {
                if granted.contains(&e.id) {
                    e.active = true;
                }
            }
            for w in after.iter().filter(|e| !e.active) {
                prop_assert!(blockers(&after, w).count() > 0, "{w:?} waits with nothing blocking it");
            }
            // Running the rule again grants nothing more (a fixed point).
            prop_assert!(grants(&after).is_empty());
        }

        #[test]
        fn overlap_is_symmetric(a in "/[ab](/[xyz](/[12])?)?", b in "/[ab](/[xyz](/[12])?)?") {
            let (pa, pb) = (NodePath::parse(&a).expect("valid"), NodePath::parse(&b).expect("valid"));
            prop_assert_eq!(pa.overlaps(&pb), pb.overlaps(&pa));
            prop_assert_eq!(pa.overlaps(&pb), pa.is_ancestor_or_self_of(&pb) || pb.is_ancestor_or_self_of(&pa));
        }
    }
}
