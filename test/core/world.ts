/**
 * A tiny model of the sandbox for driving decide() through whole runs: it applies the actions a
 * decision returns (create, roll forward, undo, delete) and answers with the next Observed. The
 * kubelet is a function from a pod template to pods (ready with digests from a registry map, or
 * failing), so each test states how the images behave.
 */
import type { RollbackDrill } from "../../src/api/types.ts";
import type { Action, Decision } from "../../src/core/actions.ts";
import { decide } from "../../src/core/decide.ts";
import type {
  Observed,
  ObservedTarget,
  PodTemplateSpec,
  PodView,
} from "../../src/core/observed.ts";
import { equalIgnoreHash } from "../../src/core/revisions.ts";
import { aSandbox, anObserved, at, type SandboxState } from "./builders.ts";

export type Kubelet = (template: PodTemplateSpec, hash: string) => PodView[];

export class World {
  drill: RollbackDrill;
  target: ObservedTarget | undefined;
  kubelet: Kubelet;
  /** Templates (production form) deployed in the sandbox, in order. */
  deployed: PodTemplateSpec[] = [];
  current = -1;
  namespace: string | undefined;
  terminating = false;
  complete = true;
  sources: Observed["sources"] = { configMaps: {}, secrets: {} };
  actions: Action[] = [];
  decisions: Decision[] = [];
  seconds = 0;
  /** A deleted namespace is gone by the next reconcile. */
  instantDelete = true;
  /** The replicas a ScaleDeployment set the clone to (its pods are gone at 0). */
  scaledTo: number | undefined;

  constructor(drill: RollbackDrill, target: ObservedTarget | undefined, kubelet: Kubelet) {
    this.drill = drill;
    this.target = target;
    this.kubelet = kubelet;
  }

  observed(): Observed {
    if (this.namespace === undefined)
      return anObserved({
        ...(this.target === undefined ? {} : { target: this.target }),
        sources: this.sources,
      });
    const state: SandboxState = {
      deployed: this.deployed.map(template => ({
        template,
        pods: (hash: string) => this.kubelet(template, hash),
      })),
      current: this.current,
      complete: this.complete,
      terminating: this.terminating,
    };
    const runId = this.drill.status?.currentRun?.id ?? "1";
    const sandbox =
      this.deployed.length === 0
        ? {
            namespace: aSandbox(this.drill, runId, {
              deployed: [
                { template: this.target?.deployment.spec.template ?? { spec: { containers: [] } } },
              ],
            }).namespace,
            replicaSets: [],
            pods: [],
          }
        : aSandbox(this.drill, runId, state);
    if (this.deployed.length > 0) {
      // Only the current ReplicaSet has pods (the others are scaled to 0).
      const currentHash = `s${String(this.current + 1)}`;
      sandbox.pods = sandbox.pods.filter(
        p => p.metadata.labels?.["pod-template-hash"] === currentHash,
      );
      if (this.scaledTo !== undefined && sandbox.deployment !== undefined) {
        sandbox.deployment = {
          ...sandbox.deployment,
          spec: { ...sandbox.deployment.spec, replicas: this.scaledTo },
        };
        if (this.scaledTo === 0) sandbox.pods = [];
      }
    }
    return anObserved({
      ...(this.target === undefined ? {} : { target: this.target }),
      sandbox,
      sources: this.sources,
    });
  }

  /** One reconcile at `seconds` after T0: decide, persist the status, execute the actions. */
  step(seconds = this.seconds): Decision {
    this.seconds = seconds;
    if (this.terminating && this.instantDelete) this.namespaceGone();
    const decision = decide(this.drill, this.observed(), at(seconds));
    this.decisions.push(decision);
    this.drill = { ...this.drill, status: decision.status };
    for (const action of decision.actions) this.execute(action);
    this.actions.push(...decision.actions);
    return decision;
  }

  /** Reconciles every `everySeconds` until the drill rests (no run, or a kept failed sandbox) or `maxSteps`. */
  runToEnd(everySeconds = 5, maxSteps = 200): void {
    for (let i = 0; i < maxSteps; i++) {
      this.step(this.seconds + (i === 0 ? 0 : everySeconds));
      const run = this.drill.status?.currentRun;
      if (run === undefined && i > 0) return;
      // A failed run's sandbox is kept for its TTL: the run itself has ended.
      if (run?.phase === "SandboxKept") return;
    }
    throw new Error(`run did not end: phase ${this.drill.status?.currentRun?.phase ?? "?"}`);
  }

  private productionTemplateOf(sandboxTemplate: PodTemplateSpec): PodTemplateSpec {
    const found = this.target?.replicaSets.find(rs => {
      const images = (t: PodTemplateSpec): string =>
        JSON.stringify([
          t.spec.initContainers?.map(c => c.image),
          t.spec.containers.map(c => c.image),
          t.metadata?.annotations,
        ]);
      return images(rs.spec.template) === images(sandboxTemplate);
    });
    if (found === undefined) throw new Error("template not from the target");
    return found.spec.template;
  }

  private execute(action: Action): void {
    switch (action.type) {
      case "CreateNamespace":
        if (this.namespace === undefined) this.namespace = action.name;
        return;
      case "CreateDeployment":
        if (this.deployed.length === 0) {
          this.deployed.push(this.productionTemplateOf(action.manifest.spec.template));
          this.current = 0;
        }
        return;
      case "ReplaceDeploymentTemplate": {
        const production = this.productionTemplateOf(action.template);
        const index = this.deployed.findIndex(t => equalIgnoreHash(t, production));
        if (index >= 0) this.current = index;
        else {
          this.deployed.push(production);
          this.current = this.deployed.length - 1;
        }
        return;
      }
      case "UndoDeployment": {
        const template = action.patch[0]?.value as PodTemplateSpec;
        const production = this.productionTemplateOf(template);
        this.current = this.deployed.findIndex(t => equalIgnoreHash(t, production));
        return;
      }
      case "DeleteNamespace":
        // Namespaces take a reconcile to go: terminating first, then gone.
        if (this.terminating) return;
        this.terminating = true;
        return;
      case "EnsureFinalizer":
      case "RemoveFinalizer":
      case "CreateObject":
      case "CopyConfigMap":
      case "CopySecret":
      case "EmitEvent":
      case "SaveLogs":
        return;
      case "ScaleDeployment":
        this.scaledTo = action.replicas;
        return;
      case "CreateSet":
      case "ReplaceSetTemplate":
      case "UndoSet":
      case "ScaleStatefulSet":
      case "DeletePods":
        throw new Error(`a Deployment drill asked for ${action.type}`);
    }
  }

  /** The namespace finishes terminating. */
  namespaceGone(): void {
    this.namespace = undefined;
    this.terminating = false;
    this.deployed = [];
    this.current = -1;
    this.scaledTo = undefined;
  }

  events(): string[] {
    return this.actions.flatMap(a => (a.type === "EmitEvent" ? [a.reason] : []));
  }
}
