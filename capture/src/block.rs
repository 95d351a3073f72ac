//! Packets handed over in blocks: everything one read of the kernel ring returned, copied into one buffer.
//!
//! A capture thread fills a [`PacketBlock`] per read (up to a few hundred packets) instead of allocating a
//! buffer per packet, and the consumer walks it with [`PacketBlock::iter`]. Emptied blocks go back to a small
//! [`BlockPool`] so that, in the steady state, capturing allocates nothing.

use std::sync::Mutex;

/// Where one packet sits in its block's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    timestamp_ns: u64,
    original_len: u32,
    start: u32,
    len: u32,
}

/// Packets of one interface read in one go, sharing one buffer.
#[derive(Debug, Default)]
pub struct PacketBlock {
    interface: usize,
    data: Vec<u8>,
    slots: Vec<Slot>,
}

/// One packet of a [`PacketBlock`], borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketRef<'a> {
    /// Index of the interface in the list given to [`crate::CaptureSource::start`].
    pub interface: usize,
    /// Capture time, nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// Length on the wire.
    pub original_len: u32,
    /// The bytes kept (at most the snap length).
    pub data: &'a [u8],
}

impl PacketRef<'_> {
    /// An owned copy of the packet.
    pub fn to_packet(&self) -> crate::CapturedPacket {
        crate::CapturedPacket {
            interface: self.interface,
            timestamp_ns: self.timestamp_ns,
            original_len: self.original_len,
            data: self.data.to_vec(),
        }
    }
}

impl PacketBlock {
    /// An empty block for packets of interface `interface`.
    pub fn new(interface: usize) -> PacketBlock {
        PacketBlock {
            interface,
            ..PacketBlock::default()
        }
    }

    /// Appends a packet; a packet that would take the buffer past 4 GiB is refused (returns false).
    pub fn push(&mut self, timestamp_ns: u64, original_len: u32, data: &[u8]) -> bool {
        let (Ok(start), Ok(len)) = (u32::try_from(self.data.len()), u32::try_from(data.len())) else {
            return false;
        };
        if start.checked_add(len).is_none() {
            return false;
        }
        self.data.extend_from_slice(data);
        self.slots.push(Slot {
            timestamp_ns,
            original_len,
            start,
            len,
        });
        true
    }

    /// Index of the interface the packets came from.
    pub fn interface(&self) -> usize {
        self.interface
    }

    /// Number of packets.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether it holds no packet.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Captured bytes held (the sum of the packets' kept lengths).
    pub fn bytes(&self) -> usize {
        self.data.len()
    }

    /// Packet `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<PacketRef<'_>> {
        let s = self.slots.get(i)?;
        let data = self
            .data
            .get(s.start as usize..s.start as usize + s.len as usize)?;
        Some(PacketRef {
            interface: self.interface,
            timestamp_ns: s.timestamp_ns,
            original_len: s.original_len,
            data,
        })
    }

    /// The packets in capture order.
    pub fn iter(&self) -> impl Iterator<Item = PacketRef<'_>> + '_ {
        (0..self.slots.len()).filter_map(|i| self.get(i))
    }

    /// Keeps the first `n` packets and drops the rest.
    pub fn truncate(&mut self, n: usize) {
        if n < self.slots.len() {
            self.data.truncate(self.slots[n].start as usize);
            self.slots.truncate(n);
        }
    }

    /// Empties the block, keeping its buffers, for packets of `interface`.
    fn reset(&mut self, interface: usize) {
        self.interface = interface;
        self.data.clear();
        self.slots.clear();
    }
}

/// Emptied blocks kept for reuse, at most [`BlockPool::KEEP`] of them; blocks whose buffer grew beyond
/// [`BlockPool::LARGEST`] are let go so that one burst of big packets does not pin memory for ever.
#[derive(Debug, Default)]
pub struct BlockPool {
    free: Mutex<Vec<PacketBlock>>,
}

impl BlockPool {
    /// Blocks kept at most.
    pub const KEEP: usize = 64;
    /// Largest buffer kept, bytes.
    pub const LARGEST: usize = 1 << 20;

    /// An empty block for `interface`, reused when one is free.
    pub fn take(&self, interface: usize) -> PacketBlock {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        match reused {
            Some(mut b) => {
                b.reset(interface);
                b
            }
            None => PacketBlock::new(interface),
        }
    }

    /// Gives a block back for reuse.
    pub fn give(&self, block: PacketBlock) {
        if block.data.capacity() > Self::LARGEST {
            return;
        }
        if let Ok(mut f) = self.free.lock() {
            if f.len() < Self::KEEP {
                f.push(block);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_come_back_in_order_with_their_own_bytes() {
        let mut b = PacketBlock::new(2);
        assert!(b.push(10, 100, &[1, 2, 3]));
        assert!(b.push(11, 4, &[]));
        assert!(b.push(12, 60, &[9; 60]));
        assert_eq!(b.len(), 3);
        assert_eq!(b.bytes(), 63);
        let all: Vec<PacketRef<'_>> = b.iter().collect();
        assert_eq!(all[0].data, &[1, 2, 3]);
        assert_eq!(all[0].original_len, 100);
        assert_eq!(all[1].data, &[] as &[u8]);
        assert_eq!(all[1].timestamp_ns, 11);
        assert_eq!(all[2].data, &[9; 60][..]);
        assert!(all.iter().all(|p| p.interface == 2));
        assert!(b.get(3).is_none());
        assert_eq!(all[2].to_packet().data.len(), 60);
        b.truncate(1);
        assert_eq!(b.len(), 1);
        assert_eq!(b.bytes(), 3);
        assert!(b.push(13, 2, &[7, 7]));
        assert_eq!(b.get(1).map(|p| p.data), Some(&[7, 7][..]));
    }

    #[test]
    fn the_pool_reuses_emptied_blocks_and_lets_big_ones_go() {
        let pool = BlockPool::default();
        let mut b = pool.take(0);
        b.push(1, 3, &[1, 2, 3]);
        let cap = b.data.capacity();
        pool.give(b);
        let again = pool.take(5);
        assert!(again.is_empty());
        assert_eq!(again.interface(), 5);
        assert_eq!(again.data.capacity(), cap);
        let mut big = PacketBlock::new(0);
        big.push(1, 0, &vec![0; BlockPool::LARGEST + 1]);
        pool.give(big);
        assert_eq!(pool.free.lock().unwrap().len(), 0);
    }
}
