export interface MyAsset {
  name: string;
  asset_tag: string;
  asset_type: string;
  status: string;
  location: string | null;
}

/** The assets a person uses ("Used by"), by name. */
export async function assetsOfUser(d1: D1Database, userId: string): Promise<MyAsset[]> {
  const { results } = await d1
    .prepare(
      "SELECT a.name, a.asset_tag, a.asset_type, a.status, l.name AS location FROM assets a LEFT JOIN locations l ON l.id = a.location_id WHERE a.used_by_id = ? ORDER BY a.name, a.id",
    )
    .bind(userId)
    .all<MyAsset>();
  return results;
}
