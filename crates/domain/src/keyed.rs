//! [`keyed!`](crate::keyed): a closed set of values with a stable key (stored, sent over the
//! API) and a Chinese label (shown to people), with `ALL`, `key`, `label`, `parse`, serde in the
//! key form and `Display` as the label. Used across crates for states, steps, channels, queues.

#[macro_export]
macro_rules! keyed {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $key:literal, $label:literal;)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize,
            ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn key(self) -> &'static str { match self { $($name::$variant => $key),* } }
            pub fn label(self) -> &'static str { match self { $($name::$variant => $label),* } }
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($key => Some($name::$variant),)* _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}
