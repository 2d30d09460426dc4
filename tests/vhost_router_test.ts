import { assertEquals } from "./_assert.ts";
import { normalizePath } from "../lib/server/vhost/request_target.ts";
import { normalizeHost, VhostRouter } from "../lib/server/vhost/router.ts";

const key = (domain: string, location = "", httpUser = "") => ({ domain, location, httpUser });

Deno.test("vhost router: exact beats wildcard; wildcard covers deeper names; ports ignored", () => {
  const r = new VhostRouter<string>();
  r.add(key("*.example.com"), { name: "wild", value: "wild" });
  r.add(key("www.example.com"), { name: "www", value: "www" });
  assertEquals(r.find("www.example.com:8080", "/", ""), "www");
  assertEquals(r.find("a.example.com", "/", ""), "wild");
  assertEquals(r.find("a.b.example.com", "/x", ""), "wild");
  assertEquals(r.find("example.org", "/", ""), undefined);
  assertEquals(normalizeHost("WWW.Example.COM.:80"), "www.example.com");
});

Deno.test("vhost router: longest location wins, / catches the rest", () => {
  const r = new VhostRouter<string>();
  r.add(key("a.com", "/"), { name: "root", value: "root" });
  r.add(key("a.com", "/api"), { name: "api", value: "api" });
  r.add(key("a.com", "/api/v2"), { name: "v2", value: "v2" });
  assertEquals(r.find("a.com", "/api/v2/x", ""), "v2");
  assertEquals(r.find("a.com", "/api/x", ""), "api");
  assertEquals(r.find("a.com", "/other", ""), "root");
});

Deno.test("vhost router: routeByHTTPUser, groups take turns, conflicts refused", () => {
  const r = new VhostRouter<string>();
  r.add(key("a.com"), { name: "all", value: "all" });
  r.add(key("a.com", "", "alice"), { name: "alice", value: "alice" });
  assertEquals(r.find("a.com", "/", "alice"), "alice");
  assertEquals(r.find("a.com", "/", "bob"), "all");

  r.add(key("g.com"), { name: "g1", group: "web", groupKey: "k", value: "g1" });
  r.add(key("g.com"), { name: "g2", group: "web", groupKey: "k", value: "g2" });
  assertEquals([r.find("g.com", "/", ""), r.find("g.com", "/", ""), r.find("g.com", "/", "")], [
    "g1",
    "g2",
    "g1",
  ]);
  let error = "";
  try {
    r.add(key("g.com"), { name: "g3", group: "web", groupKey: "wrong", value: "g3" });
  } catch (err) {
    error = (err as Error).message;
  }
  assertEquals(error, "group [web] groupKey does not match");
  try {
    r.add(key("a.com"), { name: "again", value: "again" });
  } catch (err) {
    error = (err as Error).message;
  }
  assertEquals(error, "router config conflict: a.com/ is already used by [all]");
  r.remove(key("g.com"), "g1");
  assertEquals(r.find("g.com", "/", ""), "g2");
  r.remove(key("g.com"), "g2");
  assertEquals(r.find("g.com", "/", ""), undefined);
});

Deno.test("vhost router: remove with a value leaves another member of the same name in the group", () => {
  const r = new VhostRouter<string>();
  // A cluster node briefly holds a failed-over member and its copy from the old node.
  r.add(key("g.com"), { name: "b", group: "web", value: "copy from the old node" });
  r.add(key("g.com"), { name: "b", group: "web", value: "b here" });
  r.remove(key("g.com"), "b", "copy from the old node");
  assertEquals([r.find("g.com", "/", ""), r.find("g.com", "/", "")], ["b here", "b here"]);
  r.remove(key("g.com"), "b");
  assertEquals(r.find("g.com", "/", ""), undefined);
});

Deno.test("vhost router: paths are normalised before matching locations", () => {
  const cases: [string, string][] = [
    ["/", "/"],
    ["/a/b", "/a/b"],
    ["//admin", "/admin"],
    ["/./admin", "/admin"],
    ["/%2e/admin", "/admin"],
    ["/%2E%2e/admin", "/admin"],
    ["/x/../admin", "/admin"],
    ["/x/..", "/"],
    ["/a/b/..", "/a/"],
    ["/a/./", "/a/"],
    ["/../../admin", "/admin"],
    ["/%61dmin", "/admin"],
    ["/%E6%96%87", "/文"],
    ["/bad%zz/x", "/bad%zz/x"],
    ["/a%2F..%2Fadmin", "/a%2F..%2Fadmin"],
    ["/a%2f", "/a%2F"],
    ["*", "*"],
  ];
  for (const [raw, want] of cases) assertEquals(normalizePath(raw), want, raw);
  assertEquals(normalizePath("/a%2F..%2Fadmin", true), "/admin");
  assertEquals(normalizePath("/a\\..\\admin", true), "/admin");
});
