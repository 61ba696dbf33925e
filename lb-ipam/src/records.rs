//! Small inline records the allocator keeps per assignment and per address.

use std::net::IpAddr;

use crate::service::{Port, ServiceKey};

/// One address, or one per family, stored inline so that storing or returning them needs no heap
/// allocation.
/// Derefs to a slice; compares equal to a `Vec` or slice with the same addresses in order.
#[derive(Clone, Copy)]
pub struct Ips {
    ips: [IpAddr; 2],
    len: u8,
}

impl Ips {
    /// The first one or two addresses of `ips` (callers never pass more).
    pub(crate) fn new(ips: &[IpAddr]) -> Self {
        let unspecified = IpAddr::from([0u8; 4]);
        Ips {
            ips: [
                ips.first().copied().unwrap_or(unspecified),
                ips.get(1).copied().unwrap_or(unspecified),
            ],
            len: ips.len().min(2) as u8,
        }
    }
}

impl std::ops::Deref for Ips {
    type Target = [IpAddr];

    fn deref(&self) -> &[IpAddr] {
        &self.ips[..usize::from(self.len)]
    }
}

impl std::fmt::Debug for Ips {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq for Ips {
    fn eq(&self, other: &Ips) -> bool {
        **self == **other
    }
}

impl Eq for Ips {}

impl PartialEq<Vec<IpAddr>> for Ips {
    fn eq(&self, other: &Vec<IpAddr>) -> bool {
        **self == **other
    }
}

impl PartialEq<[IpAddr]> for Ips {
    fn eq(&self, other: &[IpAddr]) -> bool {
        **self == *other
    }
}

impl<'a> IntoIterator for &'a Ips {
    type Item = &'a IpAddr;
    type IntoIter = std::slice::Iter<'a, IpAddr>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// A service's ports, sorted and deduplicated; up to three are stored inline. More go behind a
/// thin pointer, so the whole set is 16 bytes.
#[derive(Debug, Clone)]
pub(crate) enum PortSet {
    Inline { len: u8, ports: [Port; 3] },
    Heap(Box<Box<[Port]>>),
}

impl PortSet {
    pub(crate) fn new(ports: &[Port]) -> Self {
        if ports.len() <= 3 {
            let mut buf = [Port::tcp(0); 3];
            buf[..ports.len()].copy_from_slice(ports);
            let v = &mut buf[..ports.len()];
            v.sort_unstable();
            let mut len = 0;
            for i in 0..v.len() {
                if i == 0 || v[i] != v[len - 1] {
                    v[len] = v[i];
                    len += 1;
                }
            }
            PortSet::Inline {
                len: len as u8,
                ports: buf,
            }
        } else {
            let mut v = ports.to_vec();
            v.sort_unstable();
            v.dedup();
            PortSet::Heap(Box::new(v.into_boxed_slice()))
        }
    }
}

impl std::ops::Deref for PortSet {
    type Target = [Port];

    fn deref(&self) -> &[Port] {
        match self {
            PortSet::Inline { len, ports } => &ports[..usize::from(*len)],
            PortSet::Heap(b) => b,
        }
    }
}

/// The services on one address; one service (the common case) needs no heap allocation.
#[derive(Debug, Clone)]
pub(crate) enum Users {
    One(ServiceKey),
    Many(Vec<ServiceKey>),
}

impl Users {
    pub(crate) fn push(&mut self, key: ServiceKey) {
        match self {
            Users::One(first) => *self = Users::Many(vec![first.clone(), key]),
            Users::Many(v) => v.push(key),
        }
    }

    /// Removes `key`; returns true when no user is left.
    pub(crate) fn remove(&mut self, key: &ServiceKey) -> bool {
        match self {
            Users::One(k) => k == key,
            Users::Many(v) => {
                v.retain(|k| k != key);
                let empty = v.is_empty();
                if let [only] = v.as_slice() {
                    let only = only.clone();
                    *self = Users::One(only);
                }
                empty
            }
        }
    }
}

impl std::ops::Deref for Users {
    type Target = [ServiceKey];

    fn deref(&self) -> &[ServiceKey] {
        match self {
            Users::One(k) => std::slice::from_ref(k),
            Users::Many(v) => v,
        }
    }
}
