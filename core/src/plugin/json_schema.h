// Validation of plugin configs against the JSON Schema a provider declares.
//
// Supports the subset plugin schemas need: type (one or a list), properties,
// required, additionalProperties (bool or schema), enum, const, minimum,
// maximum, minLength, maxLength, pattern, items, minItems, maxItems, oneOf,
// anyOf. Unknown keywords are ignored, as the standard says.
#ifndef BERTH_PLUGIN_JSON_SCHEMA_H_
#define BERTH_PLUGIN_JSON_SCHEMA_H_

#include <string>

#include "common/status.h"

namespace berth {

// kInvalidArgument naming the first offending location (e.g.
// "config.endpoints[0].address: expected string") when `json` does not
// satisfy `schema`; also when either is not valid JSON.
Status ValidateJsonSchema(const std::string& schema, const std::string& json);

}  // namespace berth

#endif  // BERTH_PLUGIN_JSON_SCHEMA_H_
