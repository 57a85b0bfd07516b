/**
 * metav1.Time as the apiserver stores it: a built-in object's time sent with fractional seconds or
 * an offset reads back in UTC at second precision (Go's Time JSON encoding), while label and
 * annotation values and custom resources keep what was sent.
 */
import { describe, expect, it } from "vitest";
import { admit } from "../../../src/sim/admission/index.ts";
import { createCatalogue } from "../../../src/sim/catalogue.ts";
import type { GVR, KubeObject } from "../../../src/sim/types.ts";
import { EVENTS } from "../../kit/index.ts";

const catalogue = createCatalogue();

function admitted(gvr: GVR, object: KubeObject): KubeObject {
  const info = catalogue.byGVR(gvr);
  if (info === undefined) throw new Error(`no ${gvr.resource}`);
  return admit({ gvr, info, operation: "CREATE", object });
}

describe("metav1.Time on the way in", () => {
  it("is stored in UTC at second precision", () => {
    const event = admitted(EVENTS, {
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        name: "e",
        namespace: "shop",
        annotations: { at: "2026-01-02T03:04:05.678Z" },
        managedFields: [
          {
            manager: "m",
            operation: "Update",
            apiVersion: "v1",
            fieldsType: "FieldsV1",
            fieldsV1: {},
            time: "2026-01-02T03:04:05.5Z",
          },
        ],
      },
      involvedObject: { kind: "ConfigMap", name: "x", namespace: "shop" },
      reason: "Probe",
      firstTimestamp: "2026-01-02T03:04:05.678Z",
      lastTimestamp: "2026-01-02T05:04:05.999+02:00",
    });
    expect(event["firstTimestamp"]).toBe("2026-01-02T03:04:05Z");
    expect(event["lastTimestamp"]).toBe("2026-01-02T03:04:05Z");
    expect(event.metadata.managedFields?.[0]?.["time"]).toBe("2026-01-02T03:04:05Z");
    // The user's text stays as sent.
    expect(event.metadata.annotations?.["at"]).toBe("2026-01-02T03:04:05.678Z");
  });
});
