"""A city-wide knowledge base: the 100 bundled entries beside 10,000 generated ones from the other
departments a 12345 hotline answers for, and what that does to search.

    python -m bench.citywide [--entries 10000] [--seed 7] [--dump FILE.jsonl]

The generator is seeded (two runs make the same entries): each entry is one matter of one department
(住房公积金、社会保险、医疗保障、户籍、住房保障、劳动保障、交通出行、教育、市场监管、不动产登记、
税务、供暖供水燃气、城市管理、婚姻登记、出入境、退役军人) asked about one thing (conditions, materials,
where, how long, fees, online, …) in one district, with a title, an answer script naming the district's
office, caller phrasings, keywords and the department; the engine normalizes them like any entry.

Prints, for the four dev files, top-1 on the 100 bundled entries and on the 10,100 (the same queries:
the bundled entries' phrasings must still find their entry), for the out-of-scope files the share
whose first answer is another department's entry rather than a social-assistance one, the levels at
both sizes, and over all files the right and wrong first answers marked 确定 and the out-of-scope
questions marked 不在知识库 at both sizes;
then the build time (CPU and wall) and the peak memory of the 10,100-entry build.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DISTRICTS = ["北林区", "望奎县", "兰西县", "青冈县", "庆安县", "明水县", "绥棱县", "安达市", "肇东市", "海伦市"]

#: category → (department, [(matter, its everyday names)])
MATTERS: dict[str, tuple[str, list[tuple[str, list[str]]]]] = {
    "住房公积金": ("市住房公积金管理中心", [
        ("购房提取住房公积金", ["买房取公积金", "买房提公积金"]), ("租房提取住房公积金", ["租房取公积金", "房租提公积金"]),
        ("退休提取住房公积金", ["退休了取公积金", "退休销户公积金"]), ("离职提取住房公积金", ["辞职取公积金", "不干了公积金咋取"]),
        ("住房公积金贷款", ["公积金贷款买房", "公积金贷款额度"]), ("住房公积金缴存基数调整", ["公积金基数", "公积金交多少"]),
        ("住房公积金转移接续", ["公积金转到外地", "换城市公积金"]), ("灵活就业人员缴存住房公积金", ["个体户交公积金", "自己交公积金"]),
    ]),
    "社会保险": ("市人力资源和社会保障局社会保险事业中心", [
        ("城镇职工养老保险缴费", ["交养老保险", "社保断交了"]), ("养老金领取", ["退休金咋领", "养老金啥时候发"]),
        ("灵活就业人员参加养老保险", ["个人交社保", "自己交养老保险"]), ("养老保险关系转移接续", ["社保转移", "外地社保转过来"]),
        ("失业保险金申领", ["失业金", "失业了领钱"]), ("社会保障卡补办", ["社保卡丢了", "补办社保卡"]),
        ("养老保险待遇资格认证", ["养老金认证", "刷脸认证"]), ("城乡居民养老保险参保", ["农村养老保险", "新农保"]),
    ]),
    "医疗保障": ("市医疗保障局", [
        ("职工医保住院报销比例", ["职工医保报多少", "住院报销比例"]), ("异地就医备案", ["外地看病报销", "异地就医"]),
        ("门诊慢特病待遇认定", ["慢性病卡", "慢病报销"]), ("城乡居民医保缴费", ["交新农合", "居民医保交费"]),
        ("生育津贴申领", ["生孩子津贴", "生育保险报销"]), ("医保电子凭证激活", ["医保码", "电子医保卡"]),
        ("医保个人账户使用", ["医保卡余额", "个人账户买药"]), ("大病保险报销", ["大病医保", "二次报销"]),
    ]),
    "户籍": ("市公安局户政管理部门", [
        ("新生儿落户", ["孩子上户口", "新生儿上户口"]), ("户口迁入", ["户口迁过来", "落户口"]),
        ("居民身份证补领", ["身份证丢了", "补办身份证"]), ("居住证办理", ["办居住证", "外地人居住证"]),
        ("户口簿补办", ["户口本丢了", "补户口本"]), ("户籍证明开具", ["开户籍证明", "户口证明"]),
        ("临时身份证办理", ["临时身份证", "急用身份证"]), ("姓名变更登记", ["改名字", "户口上改名"]),
    ]),
    "住房保障": ("市住房和城乡建设局", [
        ("公共租赁住房申请", ["公租房", "申请廉租房"]), ("住房租赁补贴申请", ["租房补贴", "房租补贴"]),
        ("老旧小区改造", ["小区改造", "旧楼改造"]), ("物业服务投诉", ["物业不管事", "投诉物业"]),
        ("商品房预售资金监管", ["烂尾楼", "开发商不交房"]), ("房屋维修资金使用", ["维修基金", "电梯维修资金"]),
        ("棚户区改造安置", ["棚改", "拆迁安置"]), ("人才公寓申请", ["人才房", "大学生公寓"]),
    ]),
    "劳动保障": ("市人力资源和社会保障局劳动保障监察支队", [
        ("拖欠工资投诉", ["老板不给工资", "欠薪"]), ("劳动合同签订", ["不签合同", "劳动合同"]),
        ("劳动人事争议仲裁申请", ["劳动仲裁", "告单位"]), ("加班费支付", ["加班不给钱", "加班费"]),
        ("工伤认定申请", ["干活受伤", "工伤"]), ("单位未缴社会保险投诉", ["单位不给交社保", "公司没交保险"]),
        ("经济补偿金", ["辞退补偿", "被开除赔偿"]), ("农民工工资保证金", ["农民工讨薪", "工地欠钱"]),
    ]),
    "交通出行": ("市交通运输局", [
        ("公交线路咨询", ["坐几路车", "公交车路线"]), ("出租车服务投诉", ["出租车绕路", "打车投诉"]),
        ("网约车驾驶员证办理", ["跑网约车", "网约车证"]), ("交通违法处理", ["违章处理", "罚单"]),
        ("机动车驾驶证换证", ["驾照到期", "换驾照"]), ("老年人乘车卡办理", ["老年卡", "免费坐公交"]),
        ("道路货运从业资格证", ["货车资格证", "跑货运"]), ("城市停车收费", ["停车收费", "占道停车"]),
    ]),
    "教育": ("市教育局", [
        ("小学入学报名", ["孩子上小学", "一年级报名"]), ("初中学区划分", ["学区", "上哪个初中"]),
        ("转学手续办理", ["转学", "孩子转校"]), ("校外培训机构投诉", ["补课班退费", "培训班跑路"]),
        ("幼儿园入园报名", ["上幼儿园", "公办幼儿园"]), ("中考报名", ["中考", "报名中考"]),
        ("学籍信息查询", ["学籍", "查学籍"]), ("随迁子女入学", ["外地孩子上学", "随迁子女"]),
    ]),
    "市场监管": ("市市场监督管理局", [
        ("消费投诉", ["买东西被骗", "商家不退货"]), ("预付卡退费", ["办卡跑路", "会员卡退钱"]),
        ("食品安全举报", ["饭店不卫生", "过期食品"]), ("营业执照办理", ["办执照", "个体户执照"]),
        ("价格欺诈举报", ["乱收费", "价格虚高"]), ("计量器具投诉", ["缺斤短两", "秤不准"]),
        ("药品质量投诉", ["假药", "药店卖过期药"]), ("特种设备安全", ["电梯故障", "电梯困人"]),
    ]),
    "不动产登记": ("市不动产登记中心", [
        ("房产证办理", ["办房本", "不动产权证"]), ("不动产抵押登记", ["房子抵押", "抵押登记"]),
        ("二手房过户", ["房子过户", "买二手房过户"]), ("不动产登记信息查询", ["查房产", "房产信息查询"]),
        ("继承房产登记", ["继承房子", "房产继承"]), ("房屋更名", ["房本加名", "房产证改名"]),
    ]),
    "税务": ("市税务局", [
        ("个人所得税汇算", ["个税退税", "个税汇算"]), ("灵活就业人员社保费缴纳", ["税务交社保", "交社保费"]),
        ("发票开具", ["开发票", "代开发票"]), ("房产交易税费", ["买房交税", "契税"]),
        ("城乡居民医保费缴纳", ["税务交医保", "医保费交哪"]), ("小规模纳税人申报", ["报税", "个体户报税"]),
    ]),
    "供暖供水燃气": ("市城市管理和综合执法局公用事业科", [
        ("供暖不热投诉", ["暖气不热", "屋里冷"]), ("供暖费缴纳", ["交取暖费", "暖气费"]),
        ("停水咨询", ["停水", "没水了"]), ("燃气开户", ["开通燃气", "天然气开户"]),
        ("燃气泄漏报修", ["煤气味", "燃气泄漏"]), ("水费缴纳", ["交水费", "水费多少钱"]),
    ]),
    "城市管理": ("市城市管理和综合执法局", [
        ("噪音扰民投诉", ["太吵了", "夜里施工"]), ("占道经营投诉", ["摆摊占道", "小摊挡路"]),
        ("违章建筑举报", ["私搭乱建", "违建"]), ("垃圾清运", ["垃圾没人收", "垃圾堆"]),
        ("路灯不亮报修", ["路灯坏了", "路灯不亮"]), ("井盖缺失报修", ["井盖丢了", "下水井盖"]),
    ]),
    "婚姻登记": ("市民政局婚姻登记处", [
        ("结婚登记", ["领结婚证", "登记结婚"]), ("离婚登记", ["办离婚", "离婚冷静期"]),
        ("补领结婚证", ["结婚证丢了", "补结婚证"]), ("婚姻状况证明", ["单身证明", "婚姻证明"]),
    ]),
    "出入境": ("市公安局出入境管理支队", [
        ("普通护照办理", ["办护照", "护照"]), ("往来港澳通行证", ["港澳通行证", "去香港"]),
        ("往来台湾通行证", ["台湾通行证", "去台湾"]), ("出入境证件补办", ["护照丢了", "补护照"]),
    ]),
    "退役军人": ("市退役军人事务局", [
        ("退役军人优待证申领", ["优待证", "退伍证"]), ("退役士兵安置", ["退伍安置", "复员安置"]),
        ("伤残抚恤", ["伤残军人", "抚恤金"]), ("退役军人创业扶持", ["退伍创业", "军人创业贷款"]),
    ]),
}

#: what callers ask about a matter: (aspect, title, caller phrasings, keyword, answer script)
ASPECTS = [
    ("条件", "{m}需要满足什么条件？", ["{a}有啥条件", "什么人能办{m}", "我能不能办{a}", "{a}要符合啥要求"],
     "条件", "{m}需符合{dept}规定的条件：{n1}个月以上连续记录、本人在{d}有登记信息；具体以窗口审核为准。"),
    ("材料", "办理{m}需要带哪些材料？", ["{a}要带啥", "{a}需要什么证件", "办{a}都要准备啥材料", "{a}带身份证就行吗"],
     "材料", "办理{m}请带本人身份证原件、户口簿和{n1}份复印件，委托他人办理的另带委托书和受托人身份证。"),
    ("地点", "{d}在哪里办理{m}？", ["{a}去哪办", "{d}{a}在哪个窗口", "{a}上哪去办", "{a}办事地点在哪"],
     "地点", "{d}的{m}在{d}政务服务中心{n1}号窗口（{dept}{d}分支机构）办理，工作日上午9点到下午5点。"),
    ("时限", "{m}多长时间能办好？", ["{a}要多久", "{a}几天能下来", "{a}办下来得多长时间", "{a}啥时候能好"],
     "时限", "{m}材料齐全的，{dept}在{n1}个工作日内办结；需要核实的延长不超过{n2}个工作日。"),
    ("费用", "{m}收费吗？", ["{a}要钱不", "{a}交多少钱", "{a}收不收费", "{a}花多少钱"],
     "收费", "{m}不收取任何费用；工本费按规定为{n1}元的，当场开具票据。"),
    ("网上办理", "{m}可以在网上办吗？", ["{a}网上能办吗", "{a}手机上咋办", "{a}用不用跑腿", "{a}小程序能办不"],
     "网上办", "{m}可以在省政务服务网或“{d}政务”小程序办理，上传材料后{n1}个工作日内审核，结果以短信告知。"),
    ("进度查询", "{m}的办理进度怎么查？", ["{a}办到哪了", "{a}咋查进度", "{a}交了材料没动静", "{a}怎么看结果"],
     "进度", "{m}的进度可拨打{dept}服务电话或在政务服务网“办件查询”输入受理编号查询，一般{n1}日内有结果。"),
    ("政策标准", "{m}的标准是多少？", ["{a}标准", "{a}能给多少", "{a}怎么算的", "{a}额度多少"],
     "标准", "{m}的标准由{dept}按年度公布，{d}现行标准为每月{n3}元（或按比例{n1}0%），调整时另行通知。"),
    ("投诉", "对{m}不满意怎么投诉？", ["{a}办不下来找谁", "{a}窗口态度不好", "{a}投诉电话", "{a}被拒了咋办"],
     "投诉", "对{m}有异议的，可向{dept}书面反映，或拨打12345转{dept}，{n1}个工作日内答复。"),
    ("办理流程", "{m}的流程是什么？", ["{a}怎么办理", "{a}咋办", "{a}步骤", "{a}第一步干啥"],
     "流程", "{m}的流程：提交申请 → {dept}受理审核（{n1}个工作日）→ 公示或告知结果 → 办结，全程可在{d}政务服务中心咨询。"),
]


FIRST_ID = 10_001


def generated(entry_id: str) -> bool:
    return entry_id[1:].isdigit() and int(entry_id[1:]) >= FIRST_ID


def generate(n: int = 10_000, seed: int = 7) -> list[dict]:
    """n entries of other departments' matters, seeded; ids from Q10001 (the bundled ones are Q001…Q100),
    fields as the bundled entries'."""
    rng = random.Random(seed)
    combos = [(cat, dept, matter, names, aspect, district)
              for cat, (dept, matters) in MATTERS.items() for matter, names in matters
              for aspect in ASPECTS for district in DISTRICTS]
    rng.shuffle(combos)
    out = []
    for i, (cat, dept, matter, names, (_aspect, title, asks, keyword, script), district) in enumerate(combos[:n]):
        nums = {"n1": rng.randint(2, 15), "n2": rng.randint(5, 30), "n3": rng.randint(3, 40) * 50}
        fill = {"m": matter, "d": district, "dept": dept, **nums}
        similar = [ask.format(a=a, **fill) for ask in asks for a in [matter, *names]]
        rng.shuffle(similar)
        out.append({
            "id": f"Q{FIRST_ID + i}", "category": cat, "question": f"{district}" + title.format(**fill),
            "similar": similar[:rng.randint(6, 10)], "keywords": [matter, *names[:1], keyword, district],
            "answer": script.format(**fill), "detail": f"主管部门：{dept}。适用范围：{district}。", "department": dept,
        })
    return out


def _levels(engine, rows, verbose: bool = False) -> dict:
    """Top-1 right share, right and wrong first answers marked 确定, and the levels; for out-of-scope
    rows the share whose first answer is a generated entry and the share marked 不在知识库. `verbose`:
    print each wrong first answer marked 确定 and each out-of-scope question not marked 不在知识库."""
    right = other = right_sure = wrong_sure = out = 0
    levels: dict[str, int] = {}
    for r in rows:
        res = engine.search(r.query, limit=3)
        top = res.hits[0].id if res.hits else ""
        levels[res.level] = levels.get(res.level, 0) + 1
        if verbose and ((r.expected and top not in r.expected and res.level == "sure")
                        or (not r.expected and res.level != "out_of_scope")):
            print(f"  {res.level}: {top} for {r.query[:60]} ({res.reason[:60]})")
        if r.expected:
            right += top in r.expected
            right_sure += top in r.expected and res.level == "sure"
            wrong_sure += top not in r.expected and res.level == "sure"
        else:
            other += generated(top)
            out += res.level == "out_of_scope"
    return {"n": len(rows), "right": right, "other": other, "levels": levels, "right_sure": right_sure,
            "wrong_sure": wrong_sure, "out": out, "inside": sum(1 for r in rows if r.expected)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--dump", type=Path, help="also write the generated entries as JSON lines")
    ap.add_argument("--verbose", action="store_true",
                    help="print each wrong first answer marked 确定 and each out-of-scope question not marked 不在知识库")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bench.search_levels import DEV_FILES
    from kb import evaluation
    from kb.scope import read_seed
    from kb.search import SearchEngine, levels, read_synonyms
    from kb.search.calibrate import load_entries

    bundled = load_entries()
    city = generate(args.entries, args.seed)
    if args.dump:
        args.dump.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in city), encoding="utf-8")
    files = [f for f in DEV_FILES if f.exists()]
    synonyms = read_synonyms()
    print(f"generated {len(city)} entries in {len(MATTERS)} categories, seed {args.seed}")
    with tempfile.TemporaryDirectory(prefix="kb-citywide-") as tmp:
        small = SearchEngine.build(bundled, synonyms, Path(tmp) / "small")
        cpu, wall = time.process_time(), time.perf_counter()
        big = SearchEngine.build(bundled + city, synonyms, Path(tmp) / "big")
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        for engine in (small, big):
            engine.set_scope(levels.Scope.of(read_seed()))
        print(f"{'file':<36}{'n':>5}{'top-1 (100)':>13}{'top-1 (' + str(big.doc_count) + ')':>15}"
              f"{'other dept first':>18}  levels at {small.doc_count} | {big.doc_count} (sure/maybe/out)")
        totals = {size: {} for size in ("small", "big")}
        for path in files:
            rows = evaluation.read_tsv([path])
            a, b = _levels(small, rows, args.verbose), _levels(big, rows, args.verbose)
            for size, got in (("small", a), ("big", b)):
                for k in ("right", "right_sure", "wrong_sure", "out", "inside", "n"):
                    totals[size][k] = totals[size].get(k, 0) + got[k]
            inside = a["inside"] or 1
            outside = len(rows) - a["inside"]
            lv = " | ".join("/".join(str(x["levels"].get(k, 0)) for k in (levels.SURE, levels.MAYBE, levels.OUT))
                            for x in (a, b))
            print(f"{path.name:<36}{len(rows):>5}{a['right'] / inside:>13.3f}{b['right'] / inside:>15.3f}"
                  + (f"{b['other'] / outside:>18.3f}" if outside else f"{'':>18}") + f"  {lv}")
        for size, engine in (("small", small), ("big", big)):
            t = totals[size]
            wrong, oos = t["inside"] - t["right"], t["n"] - t["inside"]
            print(f"all files, {engine.doc_count} entries: right first answers marked 确定 "
                  f"{t['right_sure'] / max(1, t['right']):.3f} ({t['right_sure']}/{t['right']}), wrong ones "
                  f"{t['wrong_sure'] / max(1, wrong):.3f} ({t['wrong_sure']}/{wrong}), out of scope marked 不在知识库 "
                  f"{t['out'] / max(1, oos):.3f} ({t['out']}/{oos})")
        small.close()
        big.close()
    print(f"build of {len(bundled) + len(city)} entries: {cpu:.1f} s CPU, {wall:.1f} s wall; "
          f"peak RSS of this process {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
