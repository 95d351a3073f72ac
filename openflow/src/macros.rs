//! `wire_enum!`: enums over a wire integer that keep unknown values.

/// Defines an enum over an integer wire value with an `Unknown(value)` variant for values it does not name,
/// `from_wire`/`to_wire` conversions, serde support, and (in tests) a proptest strategy that yields canonical
/// values (a named value is never produced as `Unknown`).
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this crate does not name, kept as it was on the wire.
            Unknown($repr),
        }

        impl $name {
            /// The variant for a wire value; values without a name are kept in `Unknown`.
            pub fn from_wire(v: $repr) -> Self {
                match v {
                    $( $value => Self::$variant, )*
                    other => Self::Unknown(other),
                }
            }

            /// The wire value.
            pub fn to_wire(self) -> $repr {
                match self {
                    $( Self::$variant => $value, )*
                    Self::Unknown(v) => v,
                }
            }

            /// Every named wire value.
            pub const KNOWN: &'static [$repr] = &[$( $value ),*];
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                Self::from_wire(v)
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> Self {
                v.to_wire()
            }
        }

        #[cfg(test)]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::strategy::Strategy;
                proptest::prop_oneof![
                    3 => proptest::sample::select(Self::KNOWN).prop_map(Self::from_wire),
                    1 => proptest::arbitrary::any::<$repr>().prop_map(Self::from_wire),
                ]
                .boxed()
            }
        }
    };
}
