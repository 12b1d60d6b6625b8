/* ABI probe for abidiff: a C shared object whose one function mentions every
 * public type of berth/plugin.h, so its debug info describes the whole ABI.
 * The committed baselines (plugin-api/abi/berth_plugin-1.<minor>.abi) were produced
 * from this file with scripts/abi/dump-abi.sh. */
#include <berth/plugin.h>

__attribute__((visibility("default"))) int berth_abi_probe(
    const berth_str* p0,
    const berth_sink* p1,
    const berth_call_ctx* p2,
    const berth_header* p3,
    const berth_header_sink* p4,
    const berth_http_request* p5,
    const berth_http_response* p6,
    const berth_host_services* p7,
    const berth_file_info* p8,
    const berth_storage_vtable* p9,
    const berth_user_info* p10,
    const berth_user_sink* p11,
    const berth_group_info* p12,
    const berth_group_sink* p13,
    const berth_auth_vtable* p14,
    const berth_scan_request* p15,
    const berth_scanner_vtable* p16,
    const berth_registry_endpoint* p17,
    const berth_blob_source* p18,
    const berth_replication_vtable* p19,
    const berth_notification* p20,
    const berth_notifier_vtable* p21,
    const berth_preheat_instance* p22,
    const berth_preheat_image* p23,
    const berth_preheat_vtable* p24,
    const berth_provider* p25,
    const berth_plugin_descriptor* p26,
    const berth_entry_args* p27,
    berth_walk_fn walk, berth_plugin_entry_fn entry);

int berth_abi_probe(
    const berth_str* p0,
    const berth_sink* p1,
    const berth_call_ctx* p2,
    const berth_header* p3,
    const berth_header_sink* p4,
    const berth_http_request* p5,
    const berth_http_response* p6,
    const berth_host_services* p7,
    const berth_file_info* p8,
    const berth_storage_vtable* p9,
    const berth_user_info* p10,
    const berth_user_sink* p11,
    const berth_group_info* p12,
    const berth_group_sink* p13,
    const berth_auth_vtable* p14,
    const berth_scan_request* p15,
    const berth_scanner_vtable* p16,
    const berth_registry_endpoint* p17,
    const berth_blob_source* p18,
    const berth_replication_vtable* p19,
    const berth_notification* p20,
    const berth_notifier_vtable* p21,
    const berth_preheat_instance* p22,
    const berth_preheat_image* p23,
    const berth_preheat_vtable* p24,
    const berth_provider* p25,
    const berth_plugin_descriptor* p26,
    const berth_entry_args* p27,
    berth_walk_fn walk, berth_plugin_entry_fn entry) {
  return (walk != 0) + (entry != 0);
}
