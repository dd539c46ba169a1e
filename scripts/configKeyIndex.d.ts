export interface KeyRow {
  readonly path: string;
  readonly description: string;
  readonly route: boolean;
  readonly top: boolean;
}
export const START_MARKER: string;
export const END_MARKER: string;
/** Every config key, with its description and where it may be set. */
export function configKeys(jsonSchema: unknown): KeyRow[];
/** The key index of docs/configuration.md as a Markdown table. */
export function configKeyIndex(jsonSchema: unknown): string;
/** The docs page with the index between its markers replaced. */
export function withKeyIndex(page: string, index: string): string;
/** The index now between the markers of the docs page, if they are there. */
export function keyIndexIn(page: string): string | undefined;
