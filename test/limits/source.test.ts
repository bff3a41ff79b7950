// SECURITY.md 45: what one client controls is one source.
import { describe, expect, it } from "vitest";
import { sourceOf } from "../../src/limits/source";

describe("the source of a request", () => {
  it("is an IPv4 address as it is", () => {
    expect(sourceOf("203.0.113.7")).toBe("203.0.113.7");
  });

  it("is an IPv6 address's /64, however it is written", () => {
    const written = ["2001:db8:1:2::1", "2001:0db8:0001:0002:ffff:ffff:ffff:ffff", "2001:DB8:1:2:0:0:0:9", "2001:db8:1:2:a::"];
    expect(new Set(written.map(sourceOf))).toEqual(new Set(["2001:db8:1:2::/64"]));
    expect(sourceOf("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
    expect(sourceOf("::1")).toBe("0:0:0:0::/64");
  });

  it("is the IPv4 address inside an IPv4-mapped IPv6 address", () => {
    expect(sourceOf("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(sourceOf("::ffff:cb00:7107")).toBe("203.0.113.7");
  });

  it("is one shared 'unknown' for anything else, never the text itself", () => {
    for (const junk of [
      undefined,
      null,
      "",
      "unknown",
      "1.2.3",
      "256.1.1.1",
      "2001:db8::1::2",
      "1:2:3:4:5:6:7:8:9",
      "x".repeat(500),
      "10.0.0.1, 10.0.0.2",
    ]) {
      expect(sourceOf(junk)).toBe("unknown");
    }
  });
});
