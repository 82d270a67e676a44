namespace OlmoeSharp.Tests.Constraints;

/// <summary>JSON Schemas that together use every keyword the constraint engine supports.</summary>
internal static class SchemaCases
{
    public static readonly Dictionary<string, string> All = new()
    {
        ["object"] = """
            {"type": "object", "additionalProperties": false, "required": ["id", "kind", "active"],
             "properties": {
               "id": {"type": "integer", "minimum": 1, "maximum": 500},
               "kind": {"enum": ["cat", "dog", 7, null]},
               "version": {"const": {"major": 1, "tags": ["a"]}},
               "active": {"type": "boolean"},
               "note": {"type": ["string", "null"], "maxLength": 6},
               "nothing": {"type": "null"}}}
            """,
        ["arrays"] = """
            {"type": "array", "minItems": 1, "maxItems": 3,
             "items": {"type": "object", "required": ["tags"], "additionalProperties": false,
                       "properties": {"tags": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 3}, "maxItems": 2},
                                      "point": {"type": "object", "required": ["x"], "properties": {"x": {"type": "number"}}}}}}
            """,
        ["strings"] = """
            {"type": "object", "additionalProperties": false, "required": ["code", "word", "free", "sized"],
             "properties": {
               "code": {"type": "string", "pattern": "^[A-Z]{2}-\\d{3}(x|yz)?$"},
               "word": {"type": "string", "pattern": "^(red|gr[e]+n|[^a-z\"]{1,2})$"},
               "free": {"type": "string", "pattern": "^(ab{1,4}|c)$"},
               "sized": {"type": "string", "minLength": 2, "maxLength": 5}}}
            """,
        ["numbers"] = """
            {"type": "object", "additionalProperties": false, "required": ["small", "ratio", "negative", "open"],
             "properties": {
               "small": {"type": "integer", "minimum": -12, "maximum": 130},
               "ratio": {"type": "number", "minimum": 0, "maximum": 1},
               "negative": {"type": "number", "exclusiveMaximum": 0, "minimum": -3},
               "open": {"type": "integer", "exclusiveMinimum": 99.5}}}
            """,
        ["anyOf"] = """
            {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 0, "maximum": 9},
                       {"type": "object", "required": ["name"], "additionalProperties": false, "properties": {"name": {"type": "string", "maxLength": 4}}}]}
            """,
        ["formats"] = """
            {"type": "object", "additionalProperties": false, "required": ["day"],
             "properties": {
               "day": {"type": "string", "format": "date"},
               "at": {"type": "string", "format": "date-time"},
               "id": {"type": "string", "format": "uuid"},
               "mail": {"type": "string", "format": "email"}}}
            """,
        ["recursive"] = """
            {"$defs": {"node": {"type": "object", "additionalProperties": false, "required": ["v"],
                                "properties": {"v": {"type": "integer", "minimum": 0, "maximum": 9}, "kids": {"type": "array", "maxItems": 2, "items": {"$ref": "#/$defs/node"}}}}},
             "$ref": "#/$defs/node"}
            """,
    };
}
