"""Méthodologie: definitions, sources and licences, the suppression rule, what is synthetic."""

import json

import streamlit as st

from ent_dash import data, ui
from pipelines import fr_format as fmt
from pipelines.privacy import PROTECTION_MIN, PROTECTION_SHARE


def audit_text(audit: str) -> str:
    """The publisher's audit status (English pipeline metadata) in French."""
    if audit == "passed":
        return "réussi"
    if audit.startswith("passed; skipped"):
        return "réussi (les groupes les plus grands n'ont pas été audités exactement)"
    return audit


ctx = ui.current()
meta = data.meta(ctx.version)
st.title("Méthodologie")

if meta.get("synthetic") == "true":
    st.warning("**Démonstration : les journaux d'usage de l'ENT sont synthétiques.** Les établissements, leurs "
               "IPS, académies, départements et contours sont réels ; les comptes, connexions et usages sont "
               "générés par le simulateur du projet, calé sur les chiffres d'usage publiés, avec sa vérité "
               "terrain conservée à part. Aucun chiffre de cette démonstration ne décrit un établissement réel.")

st.header("Définitions")
st.markdown("""
- **Comptes chargés** (n) : comptes ENT provisionnés pour le profil dans l'établissement (alimentation annuaire).
- **Taux d'activation** : comptes activés / comptes chargés.
- **Taux d'usage actif** : comptes ayant ouvert au moins une session pendant la période / comptes chargés.
  Une session commence à une connexion, ou après 30 minutes sans activité.
- **Visites par compte actif**, **part mobile** (sessions ouvertes depuis l'application mobile).
- **Portée d'un service** : part des comptes actifs qui l'ont utilisé au moins une fois ; 1 − portée = la
  part des familles actives qui **ignorent** la fonctionnalité.
- **Quintiles d'IPS** : établissements classés par indice de position sociale (DEPP), en cinq groupes
  représentant chacun environ 20 % des comptes du profil affiché (parents, élèves…), nationalement comme au
  sein d'une académie, avec la même règle de coupure.
- **SII / RII** : pente et rapport de l'inégalité selon le rang social (ridit de l'IPS), pondérés par les comptes.
- **Theil** : indice de Theil T des taux d'usage, décomposé entre et au sein des territoires.
- **Funnel plot** : taux de chaque établissement selon sa taille, avec des limites à 95 % et 99,8 % autour de la
  référence de son niveau, élargies pour la surdispersion (Spiegelhalter, 2005). Un établissement n'est
  **signalé** que si son écart reste significatif après **correction des tests multiples** : chaque
  établissement est testé pour chaque profil, trimestre et année, et la procédure de Benjamini-Hochberg
  garde sous 5 % la part attendue de faux signalements parmi tous les signalements de la publication.
  Un signalement invite à regarder de près, **ce n'est pas un classement**.
- **Taux attendu à IPS comparable** et **taux lissé** : modèle binomial sur l'IPS et estimation
  empirique-bayésienne (régression bêta-binomiale) qui rapproche chaque petit établissement du taux
  d'établissements **comparables** (même IPS, même niveau, même académie quand elle en compte assez). La carte
  nationale montre de même le taux lissé de chaque académie, calculé sur les seuls effectifs publiés.
- **Périodes** : semaines ISO (heure de Paris), mois, trimestres scolaires (septembre–décembre, janvier–mars,
  avril–août) et années scolaires.
""")

st.header("Intervalles et significativité")
st.markdown("""
Chaque taux, écart, SII, RII, pente, indice de Theil et taux lissé est affiché avec son **intervalle de confiance à
95 %** (« ± », barres d'erreur, bandes ombrées). Ces intervalles sont **fondés sur un modèle** et prennent
**l'établissement comme unité** : ils disent combien le chiffre varierait si d'autres établissements comparables, avec leurs propres
familles, avaient été observés — pas seulement le hasard de quelques comptes. Un taux d'académie calculé sur des
milliers de comptes mais sur peu d'établissements reste donc incertain.

- **Taux d'un territoire ou d'un groupe** : ± 1,96 erreur type, l'erreur type binomiale étant élargie par l'effet
  de grappe (comptes d'un même établissement qui se ressemblent ; corrélation estimée sur les établissements
  publiés de la période, du profil et du niveau ; une semaine reprend celle de son trimestre).
- **Taux des enseignants et personnels, usage des services** (leurs chiffres par établissement ne sont jamais
  publiés) : variance de l'établissement comme unité, calculée par l'Observatoire sur les établissements de la
  case (écarts de chaque établissement au taux de la case), quantile de Student, puis **arrondie vers le haut** à
  une classe : ±1, 2, 3, 5, 7, 10, 15, 20, 30, 50 ou 100 points. L'intervalle affiché est donc au moins aussi
  large que l'intervalle à 95 %. L'arrondi, et le fait que cette marge ne dépende que des taux et des tailles
  relatives des établissements, empêchent de retrouver le nombre de comptes actifs derrière l'usage d'un
  service, qui n'est pas publié. Pas d'intervalle sous 10 établissements.
- **Taux lissé d'une académie** (carte de la Vue nationale) : modèle bêta-binomial sur les effectifs publiés
  ramenés à leur taille efficace (comptes divisés par l'effet de grappe), intervalle a posteriori à 95 %
  affiché « 12,5 % [10,1 ; 14,9] ».
- **SII et RII** : intervalles de Wald du modèle logistique quasi-binomial pondéré par les comptes.
  Ils ne sont publiés que sur **au moins 10 établissements, dont 4 de chaque côté de l'IPS médian**, quand les
  taux ne sont pas (presque) parfaitement séparés le long de l'échelle sociale et quand l'intervalle reste
  dans les valeurs possibles (SII entre −100 et +100 points, RII entre 1/100 et 100) : en dessous, une pente
  tiendrait à un ou deux établissements.
- **Écart Q5 − Q1** : variance de chacune des deux moyennes de quintile, les établissements comme unités.
- **Taux lissé d'un établissement** : intervalle a posteriori qui tient compte aussi de l'incertitude du
  modèle lui-même (dispersion entre établissements, taux des établissements comparables).
- **Taux observé d'un établissement** : intervalle de Wilson sur ses comptes chargés et actifs publiés (ici les
  comptes sont les unités : il n'y a qu'un établissement).
- **Série hebdomadaire** (page *Tendances*, graphique des 12 semaines des rapports) : chaque semaine porte
  l'intervalle à 95 % de son taux (bande ombrée, barres d'erreur), calculé comme celui de tout taux de
  territoire, l'établissement comme unité.
- **Évolution d'un taux** (par rapport à la période précédente, à la semaine précédente ou à l'année
  précédente) et **écart d'une académie à la France** : erreur type √(e₁² + e₂²), les deux taux traités comme
  deux estimations indépendantes. Deux périodes des mêmes établissements se ressemblent, et une académie fait
  partie de la France : cette erreur type est donc plus grande que la vraie, l'intervalle prudent.
- **Taux d'activation et part mobile** d'un territoire : calculés comme le taux d'usage actif (effet de grappe,
  corrélation estimée sur les établissements publiés ; pour la part mobile, les sessions sont les unités d'un
  établissement).
- **Visites par compte actif** d'un territoire (« 3,4 ±0,2 ») : la variance d'un rapport sessions / comptes
  actifs, l'établissement comme unité, avec une part qui tient aux comptes et une part aux différences entre
  établissements, estimées sur les établissements publiés de la période, du profil et du niveau.
- **Pente sociale de l'ajustement** (nuage usage × IPS, page *Académie*) : intervalle de la pente des moindres
  carrés pondérés par les comptes, les établissements publiés comme unités (quantile de Student) ; « écart non
  significatif » quand il contient 0 : la pente pourrait être nulle.
- **Indices de Theil** (page *Académie*) : intervalle **par bootstrap** (rééchantillonnage des établissements
  publiés, 999 tirages, percentiles 2,5 % et 97,5 %) ; quand les tirages ne donnent pas un intervalle qui
  contient l'indice lui-même (peu d'établissements), aucun intervalle n'est affiché.
- **Taux d'un établissement** dans les tableaux (établissements semblables, établissements à cibler de la page
  *Leviers*) : intervalle de Wilson sur ses comptes, comme ci-dessous.
- Les **visites par compte actif des enseignants et personnels** n'ont pas d'intervalle (aucun de leurs
  chiffres par établissement n'est publié, et la marge arrondie ne vaut que pour des taux).

Quand l'intervalle d'un écart ou d'un SII contient 0 (1 pour un RII), le tableau de bord et les rapports
indiquent « **écart non significatif** » : les données ne permettent pas de dire dans quel sens va l'écart.

Quand l'intervalle de l'évolution d'un taux contient 0, le tableau de bord (flèche grise) et les rapports
indiquent « **évolution non significative** » : la hausse ou la baisse affichée peut tenir au hasard.

Un écart « **se creuse** » ou « **se resserre** » d'une semaine à l'autre (rapports hebdomadaires) seulement si
sa variation est **significative** : l'intervalle à 95 % de la variation, les deux semaines traitées comme deux
estimations indépendantes (erreur type √(e₁² + e₂²)), ne contient pas 0 ; sinon le rapport écrit « **évolution
non significative** ». L'écart et son évolution sont jugés séparément : un écart non significatif peut avoir
une évolution significative, et l'inverse.
""")

st.header("Secret statistique")
st.markdown(f"""
Un taux d'établissement n'est publié que si **n ≥ {meta.get('min_n', '11')} comptes chargés** et si **k ≥
{meta.get('min_k', '3')} et n − k ≥ {meta.get('min_k', '3')}** (k : comptes actifs, ou activés) ; sinon la case
affiche « {fmt.SECRET} » et aucun effectif n'est publié pour cet établissement. Les agrégats (département,
académie, France, par niveau, secteur, éducation prioritaire, milieu rural ou urbain, quintile d'IPS) suivent la
même règle sur leurs propres effectifs.

**Secret secondaire** : aucun chiffre publié ne doit permettre de retrouver un chiffre masqué par différence.
Dans toute case publiée, les établissements masqués sont soit aucun, soit au moins deux dont le total respecte
la règle : quand un seul établissement d'un département est masqué, l'établissement publié qui lui ressemble le
plus (même niveau, secteur, quintile d'IPS…, le plus petit à égalité) l'est aussi. La même règle s'applique entre
cases agrégées (académie − public = privé, France − autres académies, …).

**Toute la publication à la fois** : les comptes chargés et activés ne dépendent que du dernier jour de la
période ; une semaine, un mois et un trimestre qui finissent le même jour partagent donc leurs inconnues, et un
établissement ou une case masqué dans l'une de ces périodes l'est dans toutes. Deux **audits d'attaquant**
suivent. Pour chaque période, un calcul exact (algèbre linéaire) vérifie qu'aucun établissement masqué ne peut
être recalculé. Pour les jours où finissent plusieurs périodes, un calcul des **intervalles de protection** (comme
le font les instituts statistiques) donne, pour chaque effectif de comptes chargés ou activés masqué qui ne
respecte pas la règle, le plus petit et le plus grand effectif compatibles avec tout ce qui est publié ces
jours-là (toutes périodes et cases, fiches d'établissement ; comptes qui ne diminuent pas d'une période à la
suivante ; actifs d'une semaine au plus égaux à ceux de son mois ; nombres entiers positifs). L'écart entre ces
deux bornes doit être d'au moins **{fmt.number(PROTECTION_MIN)} comptes, et
d'au moins {fmt.percent(PROTECTION_SHARE, 0)} de l'effectif** quand il est grand ; sinon une case de plus est
masquée et l'audit recommence. La publication échoue (l'ancienne reste en ligne) tant qu'un effectif reste
exposé.

**Chiffres dérivés** : taux attendus, taux lissés, cibles et limites des funnel plots, SII, RII, écarts entre
quintiles et indices de Theil sont calculés sur les **seuls établissements publiés** : ils ne disent rien de
plus sur les établissements masqués. La part mobile suit la règle sur les sessions (au moins 11 sessions, dont
au moins 3 sur l'application et 3 ailleurs). Les rapports hebdomadaires n'impriment que des chiffres de cette
publication.

Les taux par établissement sont publiés pour les parents et les élèves ; pour les enseignants et personnels,
seuls les agrégats le sont. Les académies ne voient le détail que de leurs propres établissements.
""")
try:
    report = json.loads(meta.get("suppression", "[]"))
except ValueError:
    report = []
if report:
    with st.expander("Bilan du secret statistique de cette publication"):
        names = {"adoption": "Établissements (parents, élèves)", "adoption_staff": "Personnels (agrégats)",
                 "adoption_week": "Semaines, parents (agrégats)",
                 "adoption_week_other": "Semaines, élèves et personnels (agrégats)",
                 "reach": "Portée des services (agrégats)"}
        st.dataframe([{
            "Ensemble": names.get(r["family"], r["family"]),
            "Établissements-périodes": fmt.number(r["units"]),
            "Secret primaire": fmt.number(r["units_primary"]),
            "Secret secondaire": fmt.number(r["units_secondary"]),
            "Cases": fmt.number(r["cells"]),
            "Cases masquées (règle)": fmt.number(r["cells_primary"]),
            "Cases masquées (complément)": fmt.number(r["cells_complementary"]),
            "Audit": audit_text(r["audit"]),
        } for r in report], hide_index=True)

st.header("Leviers : ce qui réduit l'écart")
st.markdown("""
Les estimations de la page *Leviers* portent sur les **parents**, sur la dernière année scolaire qui compte des
sessions de parents, et sont calculées sur les **seuls établissements dont le taux annuel est publié** (un
établissement sous secret statistique n'entre dans aucun calcul, pas même comme point de comparaison). Une
académie n'a sa propre estimation de l'effet des ateliers que si au moins 5 de ses établissements publiés en
ont tenu un.

**Ce qui est mesuré.** Pour chaque établissement et chaque semaine, la part des comptes parents chargés qui se
sont connectés au moins une fois depuis la rentrée. À la dernière semaine, c'est le taux d'usage actif de
l'année scolaire : l'effet de fin d'année d'un atelier est donc exprimé sur l'indicateur principal, en points.

**L'effet d'un atelier de médiation (étude d'événement).** Les établissements tiennent leur atelier à des dates
différentes. Chaque établissement qui a tenu un atelier est comparé, depuis la semaine qui précède son atelier,
à des établissements comparables qui n'en ont pas encore tenu (atelier plus tard dans l'année) ou n'en tiennent
pas : même IPS, équipement des foyers, formation des enseignants, secteur, éducation prioritaire, milieu, niveau,
même zone de vacances (les vacances tombent donc aux mêmes semaines) et même niveau d'usage au départ
(méthode de Callaway et Sant'Anna). Les semaines où les données d'un établissement sont probablement
incomplètes ne servent ni de départ ni d'arrivée. Les intervalles de confiance à 95 % tiennent compte de ce que
les semaines d'un même établissement se ressemblent ; une bande à 95 % couvre toutes les semaines à la fois.
Les semaines *avant* l'atelier servent de contrôle : l'écart y devrait être nul.

**Hypothèses.** *Tendances parallèles* : sans atelier, l'usage d'un établissement aurait progressé comme celui
des établissements comparables. *Pas d'anticipation* : rien ne bouge avant la semaine de l'atelier. *Pas de
diffusion entre établissements* : un atelier ne change pas l'usage des autres établissements. *Données
observationnelles* : les ateliers ne sont pas tirés au sort, ils vont d'abord aux établissements à faible IPS
et en éducation prioritaire ; la méthode n'en tient compte qu'à travers le contexte et la comparaison avant /
après. C'est pourquoi la **comparaison naïve** (établissements avec atelier contre les autres) est biaisée et
n'est montrée que pour mémoire.

**Le modèle de contexte.** Une régression logistique (quasi-binomiale, surdispersion estimée) du taux d'usage
actif annuel de chaque établissement sur l'IPS, l'équipement numérique des foyers, la formation des enseignants
à l'ENT, le secteur, l'éducation prioritaire, le milieu rural ou urbain, le niveau et l'atelier, avec un effet
propre à chaque académie. Ses coefficients sont des associations à contexte égal, pas des effets prouvés.
**À contexte comparable** : l'effet propre d'une académie comparé à la moyenne nationale, c'est-à-dire l'écart
entre son taux et celui qu'auraient ses établissements, avec le même contexte, dans une académie moyenne.

**Expliquer un écart (Oaxaca–Blinder).** L'écart d'une académie à la France, et l'écart entre les
établissements du 5e et du 1er quintile d'IPS, sont partagés entre ce qu'explique la **composition** (les
établissements n'ont pas le même IPS, le même équipement, la même formation, le même milieu, le même niveau…)
et le reste, que le modèle n'explique pas. La partie expliquée est répartie entre les facteurs (poids de Yun) ;
les intervalles viennent de 199 tirages des établissements (bootstrap). Les parts par facteur sont instables
quand la partie expliquée est proche de 0.

**Où envoyer les médiateurs.** Pour chaque établissement publié sans atelier cette année : parents actifs en
plus attendus = comptes parents chargés × (taux avec un atelier − taux actuel), avec l'effet national d'un
atelier appliqué à son taux actuel. Le classement suppose **le même effet partout** (aucune différence entre
établissements n'est modélisée), pas de diffusion, et que l'établissement garderait son taux sans atelier ; ses
intervalles ne portent que l'incertitude sur l'effet national. Le scénario « K ateliers » place les ateliers
dans les K premiers établissements du classement et donne le taux de l'académie et son SII avant et après,
calculés sur ses établissements publiés. Le SII du scénario suit les règles du SII publié : au moins 10
établissements avec un IPS, dont 4 de chaque côté de l'IPS médian, sinon il est « non publié ». Le SII avant et
le SII après portent l'intervalle à 95 % de leur droite ajustée (les établissements comme unités) ; la variation
du SII porte l'incertitude sur l'effet national.
""")

st.header("Sources et licences")
st.markdown("""
| Donnée | Source | Licence |
|---|---|---|
| Indice de position sociale des écoles (2024-2025), collèges et lycées (2022-2023) | Ministère de l'Éducation nationale — DEPP, [data.education.gouv.fr](https://data.education.gouv.fr) | Licence Ouverte 2.0 (Etalab) |
| Annuaire de l'éducation (éducation prioritaire, effectifs ; départements 35 et 94) | Ministère de l'Éducation nationale, data.education.gouv.fr | Licence Ouverte 2.0 |
| Contours des académies (2020) | Ministère de l'Éducation nationale, data.education.gouv.fr | Licence Ouverte 2.0 |
| Contours des départements | IGN – Admin Express (COG 2018), via france-geojson | Licence Ouverte 2.0 |
| Communes : population, superficie (classement rural / urbain approché par la densité) | INSEE (COG, comparateur de territoires) | Licence Ouverte 2.0 |
| Calendrier scolaire, zones A, B et C (toutes les années publiées) | Ministère de l'Éducation nationale, data.education.gouv.fr, via le paquet `vacances-scolaires-france` | Licence Ouverte 2.0 (données), MIT (paquet) |
| Vacances de Corse et d'outre-mer (2025-2026) | calendriers académiques, en partie approchés | — |
| Journaux d'usage de l'ENT | exports des ENT (entcore, ODE) ; **synthétiques dans la démonstration** | — |

Réutilisation : « Ministère de l'Éducation nationale, data.education.gouv.fr », « IGN – Admin Express »,
« INSEE », avec la date d'extraction. Le classement rural / intermédiaire / urbain est une approximation par la
densité communale, pas la grille communale de densité de l'INSEE.
""")
st.caption(f"Publication : {fmt.long_date(meta.get('published_at'))} · données jusqu'au "
           f"{fmt.long_date(meta.get('data_until')) if meta.get('data_until') not in (None, 'None') else fmt.NOT_AVAILABLE}"
           f" · format {meta.get('schema_version')}")
