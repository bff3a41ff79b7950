import type { Child } from "hono/jsx";
import type { z } from "zod";
import type { Portal, PortalPolicy } from "../portal/policy";
import type { TabSlug } from "./pages";

/** One tab of a portal's authentication policy: how to read, show, check and write its part. */
export interface PolicyTab<T> {
  slug: TabSlug;
  title: string;
  read(policy: PortalPolicy): T;
  /** Parses the tab's form fields into a value; its messages are shown to the admin. */
  schema: z.ZodType<T>;
  /** A problem the schema cannot see (it needs the environment), or null. */
  check?(value: T, env: Env, portal: Portal): string | null;
  /** "Field: before → after" lines; empty when nothing changed. */
  describe(before: T, after: T, portal: Portal): string[];
  /** The value as hidden form fields, to carry it through the confirmation. */
  fields(value: T): Record<string, string>;
  Form(props: { action: string; value: T; portal: Portal; env: Env }): Child;
  /** The policy change to store; `before` is the whole policy as it was, `now` the time it applies. */
  write(value: T, context: { before: PortalPolicy; now: number }): Partial<Omit<PortalPolicy, "generation">>;
}
