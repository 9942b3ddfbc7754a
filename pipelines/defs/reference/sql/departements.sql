-- One row per département (101) with its académie; names from the IGN/INSEE GeoJSON.
CREATE OR REPLACE TABLE departements AS
SELECT
    m.code_departement AS departement_code,
    coalesce(g.nom, m.libelle_departement) AS departement_name,
    m.code_academie AS academie_code
FROM read_csv('{{reference_dir}}/departement_academie_mapping.csv', all_varchar = true) m
LEFT JOIN read_json('{{reference_dir}}/geo/departements-avec-outre-mer.geojson') g ON g.code = m.code_departement
ORDER BY departement_code;
