// Every name a page shows, at its field's maximum length and without a space to break at: people
// (100), groups and locations (80), roles (60), asset and software names (120), asset tags (40),
// serial numbers (80), publishers (120), categories (80), versions (40). Each keeps what made it
// distinct as its start, so unique names stay unique.
const filled = (column: string, max: number, filler: string) =>
  `substr(replace(${column}, ' ', '') || replace(hex(zeroblob(${max})), '00', '${filler}'), 1, ${max})`;

export const LONG_NAMES_SQL = [
  `UPDATE users SET name = ${filled("name", 100, "Nm")}`,
  `UPDATE groups SET name = ${filled("name", 80, "Gp")}`,
  `UPDATE locations SET name = ${filled("name", 80, "Lc")}`,
  `UPDATE roles SET name = ${filled("name", 60, "Rl")}`,
  `UPDATE assets SET name = ${filled("name", 120, "Wm")}, asset_tag = ${filled("asset_tag", 40, "T9")}, serial_number = ${filled("coalesce(serial_number, id)", 80, "S8")}`,
  `UPDATE software SET name = ${filled("name", 120, "Sw")}, publisher = ${filled("coalesce(publisher, id)", 120, "Pb")}, category = ` +
    `${filled("coalesce(category, id)", 80, "Ct")}, software_version = ${filled("coalesce(software_version, id)", 40, "V4")}`,
];

/** An authenticator app's issuer name at its maximum (64), without a space: it lives in the portal's object, set through Settings. */
export const LONG_ISSUER = "RTXSolutionsSupport".padEnd(64, "Iu");
