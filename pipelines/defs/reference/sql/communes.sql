-- One row per commune (COM) or municipal arrondissement (ARM: Paris, Lyon, Marseille), with
-- population density and a rural/urban class. The source has one row per (commune, postal code).
-- The class is a PROXY for INSEE's "grille communale de densité" (which works on 1 km² cells, not
-- on commune averages): urbain >= 1500 inhabitants/km², intermediaire >= 300, rural below.
-- About 190 schools sit in communes the file lacks (Saint-Martin, Saint-Barthélemy, communes merged
-- or created since 2024): their class stays NULL rather than guessed.
CREATE OR REPLACE TABLE communes AS
WITH current AS (
    SELECT
        insee_com AS commune_code,
        any_value(commune_article) AS commune_name,
        any_value(insee_dep) AS departement_code,
        any_value(population_2021)::INTEGER AS population_2021,
        any_value(superficie_km2)::DOUBLE AS area_km2
    FROM read_csv('{{reference_dir}}/communes/communes.csv',
                  types = {'insee_com': 'VARCHAR', 'insee_dep': 'VARCHAR', 'insee_parente': 'VARCHAR',
                           'code_postal': 'VARCHAR'})
    WHERE commune_type IN ('COM', 'ARM')
    GROUP BY insee_com
)
SELECT
    *,
    population_2021 / nullif(area_km2, 0) AS density_per_km2,
    CASE
        WHEN population_2021 / nullif(area_km2, 0) >= 1500 THEN 'urbain'
        WHEN population_2021 / nullif(area_km2, 0) >= 300 THEN 'intermediaire'
        WHEN area_km2 > 0 THEN 'rural'
    END AS rural_urban
FROM current;
