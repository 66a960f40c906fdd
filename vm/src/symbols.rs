//! The runtime's symbols by name: what compiled code calls, for a host
//! that compiles programs into its own process (`dlc`'s JIT), where no
//! linker resolves them.

use std::collections::HashMap;

unsafe extern "C" {
    /// C's remainder of Floats (libm), which `%` on Floats compiles to.
    fn fmod(x: f64, y: f64) -> f64;
}

macro_rules! insert_all {
    ($table:ident; $([$($module:ident)::+] { $($name:ident),* $(,)? })*) => {
        $({
            use crate::$($module)::+ as module;
            $($table.insert(stringify!($name), module::$name as *const u8);)*
        })*
    };
}

/// Every `extern "C"` function of the runtime's ABI (vm/README.md), and
/// the C library functions compiled code calls.
pub fn symbols() -> HashMap<&'static str, *const u8> {
    let mut table: HashMap<&'static str, *const u8> = HashMap::new();
    table.insert("fmod", fmod as *const u8);
    insert_all! { table;
    [compare] {dl_cmp, dl_eq, dl_str_cmp, dl_str_eq}
    [crypto] {dl_Base64_decode, dl_Base64_encode, dl_Base64_url_decode, dl_Base64_url_encode, dl_Crypto_equal, dl_Crypto_hmac_sha256, dl_Crypto_hmac_sha256_url, dl_Crypto_sha256, dl_Crypto_token, dl_Password_hash, dl_Password_verify}
    [dict] {dl_Dict_empty, dl_Dict_get, dl_Dict_insert, dl_Dict_keys, dl_Dict_remove, dl_Dict_size, dl_Dict_values}
    [error] {dl_fail, dl_assert_failed}
    [format] {dl_format_into}
    [json] {dl_Json_decode, dl_Json_encode}
    [list] {dl_List_get, dl_List_length, dl_List_push, dl_List_slice, dl_List_sort, dl_List_sort_by, dl_list_alloc, dl_list_concat}
    [num] {dl_Float_ceil, dl_Float_floor, dl_Float_pow, dl_Float_round, dl_Float_sqrt, dl_Float_to_int, dl_Float_to_string, dl_Int_pow, dl_Int_to_float, dl_Int_to_string}
    [output] {dl_debug, dl_print}
    [region] {dl_alloc}
    [service::externs] {dl_Store_count, dl_Store_delete, dl_Store_entries, dl_Store_get, dl_Store_has, dl_Store_index_get, dl_Store_index_page, dl_Store_insert, dl_Store_keys, dl_Store_page, dl_Store_prefix, dl_Store_set, dl_Store_values, dl_fail_message, dl_secret_value}
    [service::testing] {dl_App_request, dl_App_run_cron, dl_Time_advance}
    [string] {dl_String_chars, dl_String_code_points, dl_String_contains, dl_String_from_code_points, dl_String_ends_with, dl_String_length, dl_String_lower, dl_String_replace, dl_String_slice, dl_String_split, dl_String_starts_with, dl_String_to_float, dl_String_to_int, dl_String_trim, dl_String_upper, dl_str_concat}
    [time] {dl_Id_new, dl_Time_now}
    }
    table
}
