-- One row per académie (30), from the official académie contours (DuckDB reads a GeoJSON
-- FeatureCollection as one row per feature) and the département → académie mapping.
CREATE OR REPLACE TABLE academies AS
WITH regions AS (
    SELECT DISTINCT code_academie, code_region, libelle_region_academique
    FROM read_csv('{{reference_dir}}/departement_academie_mapping.csv', all_varchar = true)
)
SELECT
    g.code_academie AS academie_code,
    g.name AS academie_name,
    r.code_region AS region_academique_code,
    r.libelle_region_academique AS region_academique_name
FROM read_json('{{reference_dir}}/geo/fr-en-contour-academies-2020.geojson') g
LEFT JOIN regions r ON r.code_academie = g.code_academie
ORDER BY academie_code;
