-- One row per school open in the latest published year: écoles (IPS 2024-2025), collèges and
-- lycées (IPS 2022-2023, the latest national files). Needs tables academies, departements, communes.
CREATE OR REPLACE TABLE schools AS
WITH
ecoles_raw AS (
    SELECT *
    FROM read_parquet('{{reference_dir}}/fr-en-ips-ecoles-ap2022.parquet')
    QUALIFY rentree_scolaire = max(rentree_scolaire) OVER ()
),
ecoles AS (
    SELECT
        uai,
        nom_de_l_etablissement AS name,
        'ecole' AS level,
        NULL::VARCHAR AS lycee_type,
        secteur AS secteur_label,
        code_du_departement AS dep_raw,
        code_insee_de_la_commune AS commune_code,
        nom_de_la_commune AS commune_name_ips,
        TRY_CAST(ips AS DOUBLE) AS ips,
        rentree_scolaire AS ips_rentree,
        TRY_CAST(ips_national AS DOUBLE) AS ips_national,
        TRY_CAST(ips_academique AS DOUBLE) AS ips_academique,
        TRY_CAST(ips_departemental AS DOUBLE) AS ips_departemental,
        TRY_CAST(CASE WHEN secteur = 'public' THEN ips_national_public ELSE ips_national_prive END AS DOUBLE)
            AS ips_national_secteur,
        TRY_CAST(CASE WHEN secteur = 'public' THEN ips_academique_public ELSE ips_academique_prive END AS DOUBLE)
            AS ips_academique_secteur,
        TRY_CAST(CASE WHEN secteur = 'public' THEN ips_departemental_public ELSE ips_departemental_prive END AS DOUBLE)
            AS ips_departemental_secteur,
        NULL::INTEGER AS published_headcount
    FROM ecoles_raw
),
colleges AS (
    SELECT
        "UAI" AS uai,
        "Nom de l'établissment" AS name,
        'college' AS level,
        NULL::VARCHAR AS lycee_type,
        "Secteur" AS secteur_label,
        "Code du département" AS dep_raw,
        "Code INSEE de la commune" AS commune_code,
        "Nom de la commune" AS commune_name_ips,
        TRY_CAST("IPS" AS DOUBLE) AS ips,
        "Rentrée scolaire" AS ips_rentree,
        NULL::DOUBLE AS ips_national, NULL::DOUBLE AS ips_academique, NULL::DOUBLE AS ips_departemental,
        NULL::DOUBLE AS ips_national_secteur, NULL::DOUBLE AS ips_academique_secteur,
        NULL::DOUBLE AS ips_departemental_secteur,
        TRY_CAST("Effectifs" AS DOUBLE)::INTEGER AS published_headcount
    FROM read_csv('{{reference_dir}}/fr-en-ips-colleges-ap2022.csv', delim = ';', header = true, all_varchar = true)
),
lycees AS (
    SELECT
        uai,
        nom_de_l_etablissment AS name,
        'lycee' AS level,
        type_de_lycee AS lycee_type,
        secteur AS secteur_label,
        code_du_departement AS dep_raw,
        code_insee_de_la_commune AS commune_code,
        nom_de_la_commune AS commune_name_ips,
        ips_ensemble_gt_pro AS ips,
        rentree_scolaire AS ips_rentree,
        NULL::DOUBLE AS ips_national, NULL::DOUBLE AS ips_academique, NULL::DOUBLE AS ips_departemental,
        NULL::DOUBLE AS ips_national_secteur, NULL::DOUBLE AS ips_academique_secteur,
        NULL::DOUBLE AS ips_departemental_secteur,
        effectifs_ensemble_gt_pro::INTEGER AS published_headcount
    FROM read_parquet('{{reference_dir}}/fr-en-ips-lycees-ap2022.parquet')
),
all_levels AS (
    SELECT * FROM ecoles UNION ALL SELECT * FROM colleges UNION ALL SELECT * FROM lycees
),
normalized AS (
    SELECT
        a.*,
        -- IPS files write '001' / '02A' for what the mapping and GeoJSON write '01' / '2A'.
        CASE WHEN length(dep_raw) = 3 AND dep_raw[1] = '0' THEN dep_raw[2:] ELSE dep_raw END AS departement_code,
        CASE WHEN secteur_label = 'public' THEN 'public' ELSE 'prive' END AS secteur,
        CASE
            WHEN level <> 'ecole' THEN NULL
            WHEN upper(name) LIKE '%MATERNELLE%' THEN 'maternelle'
            WHEN upper(name) LIKE '%ELEMENTAIRE%' OR upper(name) LIKE 'E E %' THEN 'elementaire'
            ELSE 'primaire'
        END AS ecole_kind
    FROM all_levels a
),
-- Annuaire de l'éducation files (any extract, up to the full national file) dropped anywhere under
-- reference/: éducation prioritaire status and pupil counts. A UAI listed with an empty status is
-- outside éducation prioritaire; a UAI absent from every annuaire file is 'inconnu'.
annuaire AS (
    SELECT
        "Identifiant_de_l_etablissement" AS uai,
        CASE
            WHEN bool_or(upper(trim("Appartenance_Education_Prioritaire")) = 'REP+') THEN 'REP+'
            WHEN bool_or(upper(trim("Appartenance_Education_Prioritaire")) = 'REP') THEN 'REP'
            ELSE 'hors_ep'
        END AS education_prioritaire,
        max(TRY_CAST("Nombre_d_eleves" AS INTEGER)) AS annuaire_headcount
    FROM read_csv('{{reference_dir}}/**/fr-en-annuaire-education*.csv', delim = ';', header = true,
                  all_varchar = true, union_by_name = true)
    GROUP BY ALL
),
-- Real école headcounts where an effectifs file gives them (latest year per école).
ecole_effectifs AS (
    SELECT "Numéro de l'école" AS uai, arg_max("Nombre total d'élèves", "Rentrée scolaire")::INTEGER AS headcount
    FROM read_csv('{{reference_dir}}/**/fr-en-ecoles-effectifs-nb_classes*.csv', delim = ';', header = true,
                  union_by_name = true)
    GROUP BY ALL
),
with_context AS (
    SELECT
        n.*,
        c.commune_name,
        c.rural_urban,
        c.density_per_km2,
        an.education_prioritaire,
        coalesce(n.published_headcount, ee.headcount, an.annuaire_headcount) AS real_headcount
    FROM normalized n
    LEFT JOIN communes c ON c.commune_code = n.commune_code
    LEFT JOIN annuaire an ON an.uai = n.uai
    LEFT JOIN ecole_effectifs ee ON ee.uai = n.uai
),
-- Écoles without a published headcount: the median real headcount of the écoles that have one
-- (today Ille-et-Vilaine's effectifs file) of the same kind (primaire / élémentaire / maternelle)
-- and the same rural/urban class, else of the same kind, else of all écoles.
ecole_medians AS (
    SELECT ecole_kind, rural_urban, GROUPING(ecole_kind, rural_urban) AS grouping_level,
           median(real_headcount)::INTEGER AS median_headcount
    FROM with_context
    WHERE level = 'ecole' AND real_headcount > 0
    GROUP BY GROUPING SETS ((ecole_kind, rural_urban), (ecole_kind), ())
)
SELECT
    w.uai,
    w.name,
    w.level,
    w.lycee_type,
    w.secteur,
    d.academie_code,
    ac.academie_name,
    w.departement_code,
    d.departement_name,
    w.commune_code,
    coalesce(w.commune_name, w.commune_name_ips) AS commune_name,
    w.ips,
    w.ips_rentree,
    w.ips_national,
    w.ips_academique,
    w.ips_departemental,
    w.ips_national_secteur,
    w.ips_academique_secteur,
    w.ips_departemental_secteur,
    coalesce(w.real_headcount, m1.median_headcount, m2.median_headcount, m3.median_headcount) AS headcount,
    w.real_headcount IS NULL AS headcount_estimated,
    w.density_per_km2,
    w.rural_urban,
    coalesce(w.education_prioritaire, 'inconnu') AS education_prioritaire
FROM with_context w
LEFT JOIN departements d ON d.departement_code = w.departement_code
LEFT JOIN academies ac ON ac.academie_code = d.academie_code
LEFT JOIN ecole_medians m1
    ON w.real_headcount IS NULL AND m1.grouping_level = 0
    AND m1.ecole_kind = w.ecole_kind AND m1.rural_urban = w.rural_urban
LEFT JOIN ecole_medians m2
    ON w.real_headcount IS NULL AND m2.grouping_level = 1 AND m2.ecole_kind = w.ecole_kind
LEFT JOIN ecole_medians m3
    ON w.real_headcount IS NULL AND m3.grouping_level = 3
ORDER BY w.uai;
