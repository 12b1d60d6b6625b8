#include "plugin/json_schema.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

const char* kSchema = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[a-z]+$"},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
    "mode": {"enum": ["a", "b"]},
    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
    "nested": {"type": "object", "properties": {"x": {"type": "boolean"}}, "required": ["x"]}
  },
  "required": ["name"],
  "additionalProperties": false
})";

std::string Error(const std::string& json) { return ValidateJsonSchema(kSchema, json).message(); }

TEST(JsonSchemaTest, AcceptsValidDocuments) {
  EXPECT_TRUE(ValidateJsonSchema(kSchema, R"({"name":"ab"})").ok());
  EXPECT_TRUE(ValidateJsonSchema(
                  kSchema, R"({"name":"abc","port":80,"mode":"b","tags":["x"],"nested":{"x":true}})")
                  .ok());
}

TEST(JsonSchemaTest, NamesTheFirstViolation) {
  EXPECT_EQ(Error("{}"), "config: 'name' is required");
  EXPECT_EQ(Error(R"({"name":1})"), "config.name: expected string, got integer");
  EXPECT_EQ(Error(R"({"name":"a"})"), "config.name: must be at least 2 characters");
  EXPECT_EQ(Error(R"({"name":"abcdef"})"), "config.name: must be at most 5 characters");
  EXPECT_EQ(Error(R"({"name":"AB"})"), "config.name: must match ^[a-z]+$");
  EXPECT_EQ(Error(R"({"name":"ab","port":0})"), "config.port: must be at least 1");
  EXPECT_EQ(Error(R"({"name":"ab","port":70000})"), "config.port: must be at most 65535");
  EXPECT_EQ(Error(R"({"name":"ab","port":1.5})"), "config.port: expected integer, got number");
  EXPECT_EQ(Error(R"({"name":"ab","mode":"c"})"), R"(config.mode: must be one of ["a","b"])");
  EXPECT_EQ(Error(R"({"name":"ab","tags":[]})"), "config.tags: needs at least 1 items");
  EXPECT_EQ(Error(R"({"name":"ab","tags":["x",2]})"), "config.tags[1]: expected string, got integer");
  EXPECT_EQ(Error(R"({"name":"ab","nested":{}})"), "config.nested: 'x' is required");
  EXPECT_EQ(Error(R"({"name":"ab","other":1})"), "config: unknown key 'other'");
}

TEST(JsonSchemaTest, RejectsMalformedInput) {
  EXPECT_FALSE(ValidateJsonSchema(kSchema, "{not json").ok());
  EXPECT_FALSE(ValidateJsonSchema("{not json", "{}").ok());
}

TEST(JsonSchemaTest, SupportsTypeListsAndAlternatives) {
  const char* s = R"({"anyOf":[{"type":"string"},{"type":"integer"}]})";
  EXPECT_TRUE(ValidateJsonSchema(s, "\"x\"").ok());
  EXPECT_TRUE(ValidateJsonSchema(s, "3").ok());
  EXPECT_FALSE(ValidateJsonSchema(s, "true").ok());
  const char* t = R"({"type":["string","null"]})";
  EXPECT_TRUE(ValidateJsonSchema(t, "null").ok());
  EXPECT_FALSE(ValidateJsonSchema(t, "[]").ok());
}

}  // namespace
}  // namespace berth
