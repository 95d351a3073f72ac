//! Version negotiation from two hello messages.

use crate::hello::Hello;

/// The version both sides speak, per OpenFlow 1.3.1 section 6.3.1: with version bitmaps on both sides, the
/// highest version set in both; otherwise the smaller of the two header versions, if we support it.
pub fn negotiate(ours: &[u8], peer_header_version: u8, peer_hello: Option<&Hello>) -> Option<u8> {
    let peer_bitmap = peer_hello.and_then(Hello::versions);
    match peer_bitmap {
        Some(theirs) => ours.iter().copied().filter(|v| theirs.contains(v)).max(),
        None => {
            let our_max = ours.iter().copied().max()?;
            let v = our_max.min(peer_header_version);
            ours.contains(&v).then_some(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_picks_highest_common() {
        let h = Hello::with_versions(&[1, 4]);
        assert_eq!(negotiate(&[1, 4], 4, Some(&h)), Some(4));
        assert_eq!(negotiate(&[1], 4, Some(&h)), Some(1));
        assert_eq!(negotiate(&[4], 4, Some(&Hello::with_versions(&[1]))), None);
    }

    #[test]
    fn without_bitmap_takes_lower_header_version() {
        assert_eq!(negotiate(&[1, 4], 1, None), Some(1));
        assert_eq!(negotiate(&[1, 4], 6, Some(&Hello::default())), Some(4));
        assert_eq!(negotiate(&[1], 4, None), Some(1));
        assert_eq!(negotiate(&[4], 1, None), None);
        assert_eq!(negotiate(&[1, 4], 3, None), None);
    }
}
