//! The standard library's Distlang sources, embedded so that an installed
//! `dlc` needs no source tree. The prelude's names are global; every other
//! file is a module named after it (`string.dl` is `String`).

/// (module name or `None` for the prelude, file name, source).
pub const FILES: &[(Option<&str>, &str, &str)] = &[
    (None, "stdlib/prelude.dl", include_str!("../../../stdlib/prelude.dl")),
    (Some("String"), "stdlib/string.dl", include_str!("../../../stdlib/string.dl")),
    (Some("Int"), "stdlib/int.dl", include_str!("../../../stdlib/int.dl")),
    (Some("Float"), "stdlib/float.dl", include_str!("../../../stdlib/float.dl")),
    (Some("List"), "stdlib/list.dl", include_str!("../../../stdlib/list.dl")),
    (Some("Dict"), "stdlib/dict.dl", include_str!("../../../stdlib/dict.dl")),
    (Some("Option"), "stdlib/option.dl", include_str!("../../../stdlib/option.dl")),
    (Some("Result"), "stdlib/result.dl", include_str!("../../../stdlib/result.dl")),
    (Some("Json"), "stdlib/json.dl", include_str!("../../../stdlib/json.dl")),
    (Some("Time"), "stdlib/time.dl", include_str!("../../../stdlib/time.dl")),
    (Some("Id"), "stdlib/id.dl", include_str!("../../../stdlib/id.dl")),
    (Some("Crypto"), "stdlib/crypto.dl", include_str!("../../../stdlib/crypto.dl")),
    (Some("Base64"), "stdlib/base64.dl", include_str!("../../../stdlib/base64.dl")),
    (Some("Password"), "stdlib/password.dl", include_str!("../../../stdlib/password.dl")),
    (Some("Jwt"), "stdlib/jwt.dl", include_str!("../../../stdlib/jwt.dl")),
    (Some("Request"), "stdlib/request.dl", include_str!("../../../stdlib/request.dl")),
    (Some("Response"), "stdlib/response.dl", include_str!("../../../stdlib/response.dl")),
    (Some("Store"), "stdlib/store.dl", include_str!("../../../stdlib/store.dl")),
    (Some("App"), "stdlib/app.dl", include_str!("../../../stdlib/app.dl")),
];
